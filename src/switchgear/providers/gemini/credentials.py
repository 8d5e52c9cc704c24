"""OAuth access tokens for Vertex AI minted from a service-account JSON file (``credentials_file``).

This is the one piece of the Gemini family that does I/O (reading the file, calling Google's token
endpoint), so it stays out of the adapter: the engine holds one ``ServiceAccountTokens`` per
provider and passes ``await tokens.token()`` to ``GeminiAdapter.build_request(access_token=...)``.
A token is cached until five minutes before it expires; one refresh runs at a time, in a worker
thread (``google-auth`` is synchronous), under a deadline. ``google-auth`` and ``requests`` are
imported only when a token is first needed; the constructor checks they are installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from switchgear.config.load import ConfigError
from switchgear.core.errors import UpstreamError, UpstreamTimeout

if TYPE_CHECKING:
    from google.oauth2.service_account import Credentials

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
REFRESH_MARGIN = 300.0  # seconds before expiry at which a cached token is replaced
_DEFAULT_LIFETIME = 3600.0  # when Google does not say


class ServiceAccountTokens:
    """Access tokens for one service account, cached until ``margin`` seconds before expiry."""

    def __init__(
        self, path: str, *, provider: str = "", timeout: float = 30.0, margin: float = REFRESH_MARGIN
    ) -> None:
        missing = [name for name in ("google.oauth2", "requests") if not _installed(name)]
        if missing:
            raise ConfigError(
                f"credentials_file needs the packages google-auth and requests ({', '.join(missing)} "
                "not installed): pip install 'google-auth[requests]'"
            )
        self._path = path
        self._provider = provider
        self._timeout = timeout
        self._margin = margin
        self._credentials: Credentials | None = None
        self._token: str | None = None
        self._refresh_at = 0.0  # time.monotonic() after which the token is refreshed
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token (minted or refreshed when the cached one is near expiry)."""
        token = self._token
        if token is not None and time.monotonic() < self._refresh_at:
            return token
        async with self._lock:
            cached = self._token
            if cached is not None and time.monotonic() < self._refresh_at:
                return cached  # another caller refreshed it while this one waited
            started = time.monotonic()
            try:
                minted, lifetime = await asyncio.wait_for(asyncio.to_thread(self._mint), self._timeout)
            except TimeoutError:
                raise UpstreamTimeout(
                    f"provider {self._provider!r}: minting a Vertex access token took over "
                    f"{self._timeout:g}s",
                    provider=self._provider,
                ) from None
            self._token = minted
            self._refresh_at = started + lifetime - self._margin
            return minted

    def _mint(self) -> tuple[str, float]:
        """Read the file (once) and refresh the token; in a worker thread. Returns token, lifetime (s)."""
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        try:
            if self._credentials is None:
                self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    self._path, scopes=[SCOPE]
                )
            credentials = self._credentials
            credentials.refresh(Request())
        except (OSError, ValueError, GoogleAuthError) as exc:
            raise UpstreamError(
                f"provider {self._provider!r}: cannot get a Vertex access token from the service account "
                f"file {self._path!r}: {str(exc)[:500]}",
                provider=self._provider,
                code="provider_credentials",
            ) from None
        token = credentials.token
        if not isinstance(token, str) or not token:
            raise UpstreamError(
                f"provider {self._provider!r}: Google returned no access token", provider=self._provider
            )
        expiry = credentials.expiry  # naive UTC
        if expiry is None:
            return token, _DEFAULT_LIFETIME
        return token, (expiry - datetime.now(UTC).replace(tzinfo=None)).total_seconds()


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False
