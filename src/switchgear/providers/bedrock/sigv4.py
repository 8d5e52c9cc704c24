"""AWS Signature Version 4 for one HTTP request, as pure functions (the time is an argument).

``sign`` returns the headers to add: ``x-amz-date``, ``x-amz-content-sha256`` (the hex SHA-256 of
the body, also used as the payload hash), ``x-amz-security-token`` for temporary credentials and
``authorization``. Every header given is signed (names lower-cased, values whitespace-trimmed)
except the hop-by-hop ones botocore leaves out, plus ``host`` (from the URL when not given; the
caller must send the same value). The canonical URI is the URL's path, already percent-encoded,
encoded once more segment by segment (``%3A`` → ``%253A``), as botocore does for every service but
S3; dot segments and repeated slashes are removed first, as botocore does.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers a proxy or the HTTP client may add, drop or change: never signed (botocore's list).
_UNSIGNED = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    session_token: str | None = None,
    region: str,
    service: str = "bedrock",
    now: datetime,
) -> dict[str, str]:
    """The SigV4 headers to add to the request (``now`` naive means UTC)."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    payload_hash = hashlib.sha256(body).hexdigest()
    added = {"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    if session_token:
        added["x-amz-security-token"] = session_token
    signed: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower not in _UNSIGNED:
            signed[lower] = " ".join(value.split())
    signed.update(added)
    parts = urlsplit(url)
    if "host" not in signed:
        signed["host"] = host_header(url)
    names = sorted(signed)
    signed_headers = ";".join(names)
    canonical = "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path),
            canonical_query(parts.query),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            signed_headers,
            payload_hash,
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    added["authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
    return added


def host_header(url: str) -> str:
    """The ``host`` value for ``url``: lower-case host, port only when not the scheme's default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    return host


def canonical_uri(path: str) -> str:
    """The already-encoded ``path`` without dot segments or empty segments, encoded again."""
    return quote(_remove_dot_segments(path) or "/", safe="/~")


def canonical_query(query: str) -> str:
    """The query's ``name=value`` pairs sorted (as sent: the caller encodes them)."""
    if not query:
        return ""
    pairs = sorted((name, value) for name, _, value in (pair.partition("=") for pair in query.split("&")))
    return "&".join(f"{name}={value}" for name, value in pairs)


def _remove_dot_segments(path: str) -> str:
    if not path:
        return ""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
