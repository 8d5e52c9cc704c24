"""What every family's error mapper (``<family>/errors.py``) shares: the wording of an upstream
failure as the client sees it.

Upstream 5xx messages, and failures without a message, are masked: provider-internal details stay
out of the client's answer, which says who failed and how. 4xx messages are kept and cut to
``MAX_MESSAGE`` characters, with the provider named; secrets in them are masked by the engine, the
one place every error leaving the gateway is redacted (``core.redact.Redactor``).
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from switchgear.core.errors import UpstreamError, UpstreamStatusError

MAX_MESSAGE = 1000


class UpstreamFields(TypedDict, total=False):
    """What an ``UpstreamStatusError`` keeps of the upstream's own answer."""

    upstream_type: str | None
    upstream_code: str | None
    param: str | None
    retry_after: str | None


def body_text(body: bytes) -> str:
    """The start of an error body that is not the JSON expected, as its message."""
    return body[:MAX_MESSAGE].decode("utf-8", "replace").strip()


def status_error(
    status: int, message: str | None, provider: str, *, masked: str, **fields: Unpack[UpstreamFields]
) -> UpstreamStatusError:
    """The gateway error for an upstream failure of HTTP class ``status``: ``message`` kept for a
    4xx, else ``provider '<name>' {masked}`` (say "failed with HTTP 503")."""
    if status >= 500 or not message:
        text = f"provider {provider!r} {masked}"
    else:
        text = f"provider {provider!r}: {message[:MAX_MESSAGE]}"
    return UpstreamStatusError(status, text, provider=provider, **fields)


def misconfigured(provider: str, what: str) -> UpstreamError:
    """A provider whose settings cannot make a request (``what`` it lacks). Not the client's fault,
    and another deployment may work: an upstream failure to fail over from."""
    return UpstreamError(f"provider {provider!r} {what}", provider=provider, code="provider_misconfigured")
