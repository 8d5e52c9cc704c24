"""OAuth access tokens for Vertex AI: from a service-account file, or Application Default Credentials.

This is the one piece of the Gemini family that does I/O (reading files, calling Google's token
endpoint or the metadata server), so it stays out of the adapter: the engine holds one
``GoogleTokens`` per provider and passes ``await tokens()`` to
``GeminiAdapter.build_request(access_token=...)``. The credentials are the provider's
``credentials_file`` (a service account), else Application Default Credentials as google-auth finds
them (``google.auth.default()``, in this order): the file ``GOOGLE_APPLICATION_CREDENTIALS`` names
(service account, workload identity federation, impersonation), the gcloud ADC file
(``gcloud auth application-default login``: ``~/.config/gcloud/application_default_credentials.json``
or under ``CLOUDSDK_CONFIG``), then the metadata server (GCE, GKE, Cloud Run). A token is minted at
start-up, cached until five minutes before it expires; one refresh runs at a time, in a worker
thread (``google-auth`` is synchronous), under a deadline. ``google-auth`` and ``requests`` (the
``switchgear[vertex]`` extra) are imported only when a token is first needed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchgear.config.load import ConfigError
from switchgear.core.errors import UpstreamError, UpstreamTimeout
from switchgear.providers.settings import CredentialSource

log = logging.getLogger("switchgear.providers")

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
EXTRA = "pip install 'switchgear[vertex]'"
REFRESH_MARGIN = 300.0  # seconds before expiry at which a cached token is replaced
_DEFAULT_LIFETIME = 3600.0  # when Google does not say


def google_auth_installed() -> bool:
    return all(_installed(name) for name in ("google.oauth2", "requests"))


class GoogleTokens(CredentialSource):
    """Access tokens for one provider, cached until ``margin`` seconds before expiry.
    ``path``: a service-account file; None: Application Default Credentials."""

    def __init__(
        self,
        path: str | None = None,
        *,
        provider: str = "",
        timeout: float = 30.0,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        if not google_auth_installed():
            raise ConfigError(f"needs the packages google-auth and requests: {EXTRA}")
        self._path = path
        self._provider = provider
        self._timeout = timeout
        self._margin = margin
        self._credentials: Any = None  # google-auth credentials, loaded once in a worker thread
        self._where = f"service account file {path}" if path else "Application Default Credentials"
        self._token: str | None = None
        self._refresh_at = 0.0  # time.monotonic() after which the token is refreshed
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        return await self.token()

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

    async def start(self) -> None:
        try:
            await self.token()
        except UpstreamError as exc:
            log.warning("%s (tried again on the next request)", exc.message)
            return
        log.info("provider %r: Vertex access tokens from %s", self._provider, self._where)

    async def close(self) -> None:
        """Nothing runs in the background (a refresh in flight ends with its request)."""

    def describe(self) -> str:
        """Where the tokens come from (for ADC, runs google-auth's search: the command line only)."""
        if self._path:
            return self._where
        try:
            credentials = _load(None)
        except UpstreamError as exc:
            return f"ADC: none found ({exc.message})"
        return adc_where(credentials)

    def _mint(self) -> tuple[str, float]:
        """Load the credentials (once) and refresh the token; in a worker thread. Returns the token
        and its lifetime in seconds."""
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request

        try:
            if self._credentials is None:
                self._credentials = _load(self._path)
                if not self._path:
                    self._where = adc_where(self._credentials)
            credentials = self._credentials
            credentials.refresh(Request())
        except UpstreamError as exc:
            raise UpstreamError(
                f"provider {self._provider!r}: {exc.message}", provider=self._provider, code=exc.code
            ) from None
        except (OSError, ValueError, GoogleAuthError) as exc:
            raise UpstreamError(
                f"provider {self._provider!r}: cannot get a Vertex access token from {self._where}: "
                f"{str(exc)[:500]}",
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


def _load(path: str | None) -> Any:
    """The service account in ``path``, else Application Default Credentials (blocking)."""
    import google.auth
    from google.auth.exceptions import GoogleAuthError
    from google.oauth2 import service_account

    if path:
        try:
            return service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])  # type: ignore[no-untyped-call]
        except (OSError, ValueError, GoogleAuthError) as exc:
            raise UpstreamError(
                f"cannot read the service account file {path!r}: {str(exc)[:500]}",
                code="provider_credentials",
            ) from None
    try:
        credentials, _project = google.auth.default(scopes=[SCOPE])
    except (OSError, ValueError, GoogleAuthError) as exc:
        raise UpstreamError(
            "no Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file "
            f"{gcloud_adc_file()}, the metadata server): {str(exc)[:300]}",
            code="provider_credentials",
        ) from None
    return credentials


def adc_where(credentials: Any) -> str:
    """A person's words for where Application Default Credentials were found, never a secret."""
    from google.auth import compute_engine
    from google.oauth2 import credentials as user
    from google.oauth2 import service_account

    if isinstance(credentials, compute_engine.Credentials):
        return "ADC: metadata server"
    named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    source = f"{named} (GOOGLE_APPLICATION_CREDENTIALS)" if named else str(gcloud_adc_file())
    if isinstance(credentials, service_account.Credentials):
        return f"ADC: service account file {source}"
    if isinstance(credentials, user.Credentials):
        return f"ADC: gcloud user credentials {source}"
    module = type(credentials).__module__
    if "external_account" in module or module.endswith(("identity_pool", "aws", "pluggable")):
        return f"ADC: workload identity federation {source}"
    if "impersonated" in module:
        return f"ADC: impersonated service account {source}"
    return f"ADC: {type(credentials).__name__} from {source}"


def gcloud_adc_file() -> Path:
    """Where ``gcloud auth application-default login`` writes (as google-auth looks for it)."""
    config = os.environ.get("CLOUDSDK_CONFIG")
    if config:
        root = Path(config)
    elif os.name == "nt":
        root = Path(os.environ.get("APPDATA", "~")) / "gcloud"
    else:
        root = Path("~/.config/gcloud").expanduser()
    return root / "application_default_credentials.json"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # its parent package is missing, or the module is blocked
        return False
