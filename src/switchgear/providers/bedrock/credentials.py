"""AWS credentials found by botocore's own credential chain, for Bedrock providers without static keys.

The chain is the one every AWS SDK follows, in this order: the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``; skipped when a ``profile`` is named), role
assumption from the shared config file, web identity (``AWS_WEB_IDENTITY_TOKEN_FILE`` +
``AWS_ROLE_ARN``, as EKS IRSA sets them), the SSO token cache, the shared credentials and config
files (``profile``, else ``AWS_PROFILE``, else ``default``; ``credential_process`` there), the
container credentials endpoint (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` / ``RELATIVE_URI``: ECS, EKS
Pod Identity), then the instance metadata service (IMDS). botocore (the ``switchgear[bedrock]``
extra) is imported only here, only for a provider that uses the chain.

Every botocore call may block (files, HTTP), so it runs in a worker thread: once at start-up, then
when the credentials near their expiry. The adapter signs with a frozen snapshot (``keys``);
awaiting the chain before a request costs one comparison until the next refresh is due. Temporary
credentials are refreshed in the background while still valid — from 15 minutes before expiry
(botocore's advisory window), or half their remaining life when that is shorter — so no request
waits; one waits only when there is nothing usable to sign with (not found yet, or expired). A
failed refresh keeps the current credentials while they last and is tried again later.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from switchgear.config.load import ConfigError
from switchgear.core.errors import UpstreamError, UpstreamTimeout
from switchgear.core.redact import redact
from switchgear.providers.settings import CredentialSource

log = logging.getLogger("switchgear.providers")

EXTRA = "pip install 'switchgear[bedrock]'"
ADVISORY = 15 * 60.0  # botocore's advisory refresh window: refreshed in the background from here
SAFETY = 30.0  # credentials this close to their expiry are not signed with
MIN_GAP = 5.0  # between two refresh attempts
FAILED_HOLD = 10.0  # after a failed search with nothing to sign with, requests fail at once this long


def chain_installed() -> bool:
    """Whether botocore (the ``switchgear[bedrock]`` extra) can be imported."""
    try:
        return importlib.util.find_spec("botocore") is not None
    except (ImportError, ValueError):  # ValueError: blocked (``sys.modules["botocore"] = None``)
        return False


@dataclass(frozen=True, slots=True)
class AwsKeys:
    """One consistent set of credentials to sign a request with."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


class AwsCredentialChain(CredentialSource):
    """botocore's credential chain for one provider, cached and refreshed off the event loop."""

    def __init__(
        self, *, profile: str | None, region: str, provider: str = "", timeout: float = 30.0
    ) -> None:
        if not chain_installed():
            raise ConfigError(f"the AWS credential chain needs botocore: {EXTRA}")
        self._profile = profile
        self._region = region
        self._provider = provider
        self._timeout = timeout
        self._found: Any = None  # botocore's credentials object (refreshable or not), once found
        self._where = ""  # where they were found, for the log
        self._keys: AwsKeys | None = None
        self._usable_until = 0.0  # time.monotonic() after which the keys are not signed with
        self._refresh_at = 0.0  # time.monotonic() before which a request has nothing to do
        self._failed: UpstreamError | None = None  # the last search's failure, with nothing to sign with
        self._failed_until = 0.0
        self._task: asyncio.Task[None] | None = None

    # -- on the event loop -------------------------------------------------------------------------

    async def __call__(self) -> str:
        if time.monotonic() < self._refresh_at:
            return ""
        now = time.monotonic()
        if self._keys is not None and now < self._usable_until:
            self._refresh_in_background()
        elif self._failed is not None and now < self._failed_until:
            raise self._failed
        else:
            await self._refresh()
        return ""

    def keys(self) -> AwsKeys:
        """The credentials to sign with now (the engine awaited the chain just before)."""
        keys = self._keys
        if keys is None:
            raise self._failed or UpstreamError(
                f"provider {self._provider!r}: no AWS credentials yet", provider=self._provider
            )
        return keys

    async def start(self) -> None:
        try:
            await self._refresh()
        except UpstreamError as exc:
            log.warning("%s (tried again on the next request)", exc.message)
            return
        log.info("provider %r: AWS credentials from %s", self._provider, self._where)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()

    def _refresh_in_background(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
            self._task.add_done_callback(_retrieve)

    async def _refresh(self) -> None:
        task = self._task
        if task is None or task.done():
            task = self._task = asyncio.get_running_loop().create_task(self._run())
            task.add_done_callback(_retrieve)
        await asyncio.shield(task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            keys, expires_in = await asyncio.wait_for(
                loop.run_in_executor(None, self._resolve), self._timeout
            )
        except TimeoutError:
            self._fail(
                UpstreamTimeout(
                    f"provider {self._provider!r}: the AWS credential chain took over {self._timeout:g}s",
                    provider=self._provider,
                )
            )
        except UpstreamError as exc:
            self._fail(exc)
        else:
            self._install(keys, expires_in)

    def _install(self, keys: AwsKeys, expires_in: float | None) -> None:
        now = time.monotonic()
        self._keys, self._failed = keys, None
        if expires_in is None:  # long-term keys: never refreshed
            self._usable_until = self._refresh_at = math.inf
            return
        self._usable_until = now + expires_in - SAFETY
        if expires_in > ADVISORY:
            self._refresh_at = now + expires_in - ADVISORY
        else:  # short-lived (or a refresh that failed inside the window): half the time left
            self._refresh_at = now + max(expires_in / 2, MIN_GAP)

    def _fail(self, error: UpstreamError) -> None:
        now = time.monotonic()
        if self._keys is not None and now < self._usable_until:  # keep signing while they last
            left = self._usable_until - now
            self._refresh_at = now + max(left / 2, MIN_GAP)
            log.warning("%s; the current credentials are used for %.0fs more", error.message, left)
            return
        self._keys, self._failed = None, error
        self._failed_until = now + FAILED_HOLD
        self._refresh_at = 0.0
        raise error

    # -- in a worker thread ------------------------------------------------------------------------

    def _resolve(self) -> tuple[AwsKeys, float | None]:
        """Find the credentials (once) and take a fresh snapshot; botocore refreshes temporary
        credentials itself when they are inside its refresh window. Returns the keys and their
        remaining lifetime in seconds (None: they do not expire)."""
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        try:
            if self._found is None:
                session = self._session()
                found = session.get_credentials()
                if found is None:
                    raise UpstreamError(self._none_found(session), provider=self._provider)
                self._where = where(session, found.method)
                self._found = found
            frozen = self._found.get_frozen_credentials()
        except (BotoCoreError, ClientError, OSError, ValueError, RuntimeError) as exc:
            raise UpstreamError(
                f"provider {self._provider!r}: cannot get AWS credentials"
                f"{f' from {self._where}' if self._where else ''}: {str(exc)[:500]}",
                provider=self._provider,
                code="provider_credentials",
            ) from None
        if not frozen.access_key or not frozen.secret_key:
            raise UpstreamError(
                f"provider {self._provider!r}: {self._where} gave incomplete AWS credentials",
                provider=self._provider,
                code="provider_credentials",
            )
        keys = AwsKeys(frozen.access_key, frozen.secret_key, frozen.token or None)
        return keys, _expires_in(self._found)

    def _session(self) -> Any:
        from botocore.session import Session  # type: ignore[import-untyped]

        session = Session(profile=self._profile)
        if not session.get_config_variable("region"):
            session.set_config_variable("region", self._region)  # for STS (web identity, roles)
        return session

    def _none_found(self, session: Any) -> str:
        profile = session.profile or "default"
        return (
            f"provider {self._provider!r}: no AWS credentials found (tried the environment, profile "
            f"{profile!r} in {session.get_config_variable('credentials_file')} and "
            f"{session.get_config_variable('config_file')}, web identity, SSO, the container endpoint "
            "and instance metadata): set aws_access_key_id and aws_secret_access_key, or a profile"
        )

    def describe(self) -> str:
        """Where the chain finds credentials now (runs the search: the command line only)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            session = self._session()
            found = session.get_credentials()
        except (BotoCoreError, ClientError, OSError, ValueError, RuntimeError) as exc:
            return f"AWS credential chain failed: {redact(str(exc))[:300]}"
        if found is None:
            return "no AWS credentials found (environment, profiles, web identity, SSO, container, IMDS)"
        return where(session, found.method)


def where(session: Any, method: str) -> str:
    """A person's words for botocore's ``method`` of the credentials it found, never a secret."""
    profile = session.profile or "default"
    files = {
        "shared-credentials-file": session.get_config_variable("credentials_file"),
        "config-file": session.get_config_variable("config_file"),
    }
    role = os.environ.get("AWS_ROLE_ARN") or session.get_scoped_config().get("role_arn")
    if method in files:
        return f"profile {profile!r} from {files[method]}"
    words = {
        "env": "environment AWS_ACCESS_KEY_ID",
        "assume-role": f"role {role} assumed with profile {profile!r}",
        "assume-role-with-web-identity": f"web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role {role})",
        "sso": f"SSO cache (profile {profile!r})",
        "custom-process": f"credential_process of profile {profile!r}",
        "login": f"aws login session (profile {profile!r})",
        "container-role": "container credentials endpoint",
        "iam-role": "instance metadata (IMDS)",
    }
    return words.get(method, f"botocore's {method!r} provider")


def _expires_in(found: Any) -> float | None:
    """Seconds left on temporary credentials; None for long-term ones. botocore keeps the expiry
    of refreshable credentials in ``_expiry_time`` (there is no public accessor)."""
    expiry = getattr(found, "_expiry_time", None)
    if not isinstance(expiry, datetime):
        return None
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    return (expiry - datetime.now(UTC)).total_seconds()


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a refresh's failure as seen (it was logged, or raised to the requests awaiting it)."""
    if not task.cancelled():
        task.exception()
