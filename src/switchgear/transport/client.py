"""One outbound HTTP client for every provider: pooled keep-alive connections and four deadlines.

Deadlines per attempt (``Timeouts``): ``connect``; ``first_byte`` — until the response headers
and, for streams, the first body chunk (a whole answer's body too); ``chunk_gap`` — the longest a
stream may go without completing an event (silence, or bytes that trickle in without ending one);
``total`` — the whole exchange. The wire is ``transport.http1``, the pool ``transport.pool``, the
way to each origin (proxy, TLS) ``transport.network``, one per provider, built at start-up. This
module encodes requests and turns failures into gateway errors naming the provider, its host:port
and any proxy (credentials masked), never a URL (query strings may hold keys). Cancelling the
awaiting task closes the upstream connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote, urlencode, urlsplit

from switchgear.config.model import Timeouts, UpstreamSettings
from switchgear.core.errors import UpstreamError, UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from switchgear.core.hops import HEADER as HOP_HEADER
from switchgear.core.hops import next_hop
from switchgear.transport.dns import Resolver
from switchgear.transport.http1 import (
    BodyTooLarge,
    ConnectFailed,
    Connection,
    ConnectionClosed,
    DeadlineExceeded,
    Http1Error,
    ProxyRefused,
)
from switchgear.transport.network import Endpoint, Network, Networks, Origin
from switchgear.transport.pool import Pool

log = logging.getLogger("switchgear.transport")


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)


class UpstreamResponse:
    """An upstream answer whose headers have arrived; the body is read with deadlines."""

    __slots__ = ("_conn", "_headers", "_pool", "_raw", "host", "provider", "started", "status")

    def __init__(self, conn: Connection, pool: Pool, provider: str, host: str) -> None:
        self._conn: Connection | None = conn
        self._pool = pool
        self._raw = conn.raw_headers
        self._headers: dict[str, str] | None = None
        self.status = conn.status
        self.provider = provider
        self.host = host
        self.started = False

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers, names lower-cased (a repeated header keeps its last value)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self._raw}
        return headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    async def read(self, limit: int = 64 * 1024 * 1024) -> bytes:
        """The whole body (bounded), within the first-byte deadline."""
        conn = self._conn
        if conn is None:
            return b""
        try:
            data = await conn.read(limit)  # BodyTooLarge above ``limit``
        except Http1Error as exc:
            self.close()
            raise _network_error(exc, self.provider, self.host) from None
        except BaseException:
            self.close()
            raise
        self._conn = None
        self._pool.release(conn)
        return data

    async def chunk(self, loop: asyncio.AbstractEventLoop) -> bytes:
        """The next piece of a streamed body (b"" at its end), within first-byte or chunk-gap deadlines."""
        conn = self._conn
        if conn is None:
            return b""
        try:
            data = conn.take()
            if data is None:
                data = await conn.chunk()
        except Http1Error as exc:
            self.close()
            raise _network_error(exc, self.provider, self.host) from None
        if data:
            self.started = True
        else:
            self._conn = None
            self._pool.release(conn)
        return data

    def close(self) -> None:
        """Abort the exchange and drop the connection (used on error and cancellation)."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._pool.discard(conn)

    def release(self) -> None:
        """Done with the answer: a complete one frees its connection for reuse, else it is closed."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._pool.release(conn)


class HttpClient:
    """The one pooled client; built at startup from ``UpstreamSettings`` (and each provider's
    ``Network``, by provider name) and closed at shutdown."""

    def __init__(self, settings: UpstreamSettings, networks: Mapping[str, Network] | None = None) -> None:
        self._settings = settings
        self._networks = dict(networks or {})
        self._default: Network | None = None  # for a provider without a network of its own
        self._pool: Pool | None = None

    @property
    def resolver(self) -> Resolver | None:
        return self._pool.resolver if self._pool is not None else None

    async def start(self) -> None:
        settings = self._settings
        loop = asyncio.get_running_loop()
        resolver = Resolver(loop, settings.dns_ttl)
        self._pool = Pool(
            loop, settings.max_connections, settings.max_connections_per_origin, settings.keepalive, resolver
        )
        for provider, network in self._networks.items():
            if not network.verify:
                log.warning(
                    "provider %r: TLS certificates are NOT verified (tls.verify: false); "
                    "anyone on the path can read and change its traffic",
                    provider,
                )
            route = network.describe()
            if route != "direct":
                log.info("provider %r: %s", provider, route)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def send(
        self, request: HttpRequest, timeouts: Timeouts, provider: str, *, stream: bool = False
    ) -> UpstreamResponse:
        """Send ``request``; return once the response headers arrived."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("HttpClient.start() was not called")
        target = _target(request.url)
        network = self._networks.get(provider) or self._default or self._default_network()
        endpoint = network.endpoint(target.origin)
        data = _encode(request, target, endpoint)
        started = pool.loop.time()
        head = request.method == "HEAD"
        retry = True
        conn = pool.idle(endpoint)
        try:
            while True:
                if conn is None:
                    conn = await pool.connect(endpoint, started, timeouts)
                try:
                    conn.begin(data, started, timeouts, stream=stream, head=head)
                    await conn.response()
                except ConnectionClosed as exc:
                    pool.discard(conn)
                    if not (retry and exc.before_response and conn.reused):
                        raise
                    retry = False  # a kept-alive connection died unanswered: once more on a new one
                    conn = None
                    continue
                except BaseException:
                    pool.discard(conn)
                    raise
                if conn.status == 407 and endpoint.proxy is not None:
                    pool.discard(conn)
                    raise ProxyRefused(407, "Proxy Authentication Required")
                return UpstreamResponse(conn, pool, provider, endpoint.label)
        except Http1Error as exc:
            raise _network_error(exc, provider, endpoint.label) from None

    def _default_network(self) -> Network:
        self._default = Networks(self._settings).default
        return self._default


class _Target(NamedTuple):
    origin: Origin
    host_header: str
    path: str  # path and query, percent-encoded


_SAFE = "/%:@!$&'()*+,;=~"  # left as they are in a path or query


@lru_cache(maxsize=1024)
def _target(url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme {scheme!r} (http and https are)")
    host = parts.hostname
    if not host:
        raise ValueError("the upstream URL has no host")
    port = parts.port or (443 if scheme == "https" else 80)
    path = quote(parts.path or "/", safe=_SAFE)
    if parts.query:
        path = f"{path}?{quote(parts.query, safe=_SAFE + '?')}"
    return _Target((scheme, host, port), parts.netloc.rsplit("@", 1)[-1], path)


_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "proxy-authorization", HOP_HEADER})


def _encode(request: HttpRequest, target: _Target, endpoint: Endpoint) -> bytes:
    """The request head and body as one buffer; CR or LF in a header (or the path) is a ValueError.
    Through a proxy, an http:// request goes in absolute form with the proxy's credentials."""
    path = target.path
    if request.params:
        path = f"{path}{'&' if '?' in path else '?'}{urlencode(request.params)}"
    host = target.host_header
    if endpoint.absolute:
        path = f"http://{host}{path}"
    lines = [f"{request.method} {path} HTTP/1.1\r\n"]
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in _OWN_HEADERS:
            if lower == "host":
                host = value
            continue
        lines.append(f"{name}: {value}\r\n")
    body = request.body
    if endpoint.absolute and endpoint.proxy is not None and endpoint.proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {endpoint.proxy.authorization}\r\n")
    # The hop count on every upstream request, whatever the family: it ends loops (core.hops).
    lines.append(f"{HOP_HEADER}: {next_hop()}\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n\r\n")
    text = "".join(lines)
    breaks = len(lines) + 3
    if text.count("\n") != breaks or text.count("\r") != breaks:
        raise ValueError("a request header name or value (or the request line) contains CR or LF")
    return text.encode() + body if body else text.encode()


_KINDS = {
    "first_byte": "first-byte deadline",
    "chunk_gap": "chunk-gap deadline",
    "trickle": "chunk-gap deadline: no complete event",
    "total": "total deadline",
}


def _network_error(exc: Http1Error, provider: str, host: str) -> UpstreamError:
    where = f"provider {provider!r} ({host})"
    if isinstance(exc, DeadlineExceeded):
        if exc.kind == "connect":
            return UpstreamTimeout(f"timed out connecting to {where}", provider=provider)
        return UpstreamTimeout(f"{where} timed out {exc.phase} ({_KINDS[exc.kind]})", provider=provider)
    if isinstance(exc, ConnectFailed):
        return UpstreamUnreachable(f"cannot connect to {where}: {exc.reason}", provider=provider)
    if isinstance(exc, ProxyRefused):
        return UpstreamUnreachable(
            f"the proxy refused {where}: {exc.status} {exc.reason}".rstrip(), provider=provider
        )
    if isinstance(exc, ConnectionClosed):
        if exc.tls is not None:
            message = f"{where} closed the connection {exc.phase}: {exc.tls}"
            return UpstreamUnreachable(message, provider=provider)
        return UpstreamUnreachable(f"{where} closed the connection {exc.phase}", provider=provider)
    if isinstance(exc, BodyTooLarge):
        return UpstreamProtocolError(f"{where} sent a body {exc.phase}", provider=provider)
    return UpstreamProtocolError(f"{where} sent a malformed HTTP response", provider=provider)
