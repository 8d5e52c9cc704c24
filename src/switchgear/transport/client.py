"""One outbound HTTP client for every provider: pooled keep-alive connections and four deadlines.

Deadlines per attempt (``Timeouts``): ``connect``; ``first_byte`` — until the response headers
and, for streams, the first body chunk (a whole answer's body too); ``chunk_gap`` — the longest
silence between stream chunks; ``total`` — the whole exchange. The wire is ``transport.http1``;
this module owns the pool (idle connections per origin, a global cap with FIFO waiters), request
encoding, and failures as gateway errors naming the provider and its host:port, never a URL
(query strings may hold keys). Cancelling the awaiting task closes the upstream connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote, urlencode, urlsplit

from switchgear.config.model import Timeouts, UpstreamSettings
from switchgear.core.errors import UpstreamError, UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from switchgear.transport.http1 import (
    BUSY,
    DEAD,
    IDLE,
    BodyTooLarge,
    ConnectFailed,
    Connection,
    ConnectionClosed,
    DeadlineExceeded,
    Http1Error,
    Origin,
    dial,
)


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

    def __init__(self, conn: Connection, pool: _Pool, provider: str, host: str) -> None:
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
    """The one pooled client; built at startup from ``UpstreamSettings`` and closed at shutdown."""

    def __init__(self, settings: UpstreamSettings) -> None:
        self._settings = settings
        self._pool: _Pool | None = None

    async def start(self) -> None:
        settings = self._settings
        loop = asyncio.get_running_loop()
        self._pool = _Pool(loop, settings.max_connections, settings.keepalive, ssl.create_default_context())

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
        data = _encode(request, target)
        started = pool.loop.time()
        head = request.method == "HEAD"
        retry = True
        conn = pool.idle(target.origin)
        try:
            while True:
                if conn is None:
                    conn = await pool.connect(target.origin, started, timeouts)
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
                return UpstreamResponse(conn, pool, provider, target.label)
        except Http1Error as exc:
            raise _network_error(exc, provider, target.label) from None


class _Pool:
    """Every open connection: idle ones per origin (LIFO), a global cap with FIFO waiters, dialling."""

    __slots__ = ("_all", "_closed", "_idle", "_keepalive", "_limit", "_open", "_ssl", "_waiters", "loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: int, keepalive: float, tls: ssl.SSLContext
    ) -> None:
        self.loop = loop
        self._limit = limit
        self._keepalive = keepalive
        self._ssl = tls
        self._open = 0  # connections open or being opened, idle or not
        self._all: set[Connection] = set()
        self._idle: dict[Origin, list[Connection]] = {}
        self._waiters: deque[tuple[Origin, asyncio.Future[Connection | None]]] = deque()
        self._closed = False

    def idle(self, origin: Origin) -> Connection | None:
        """The most recently used live idle connection to ``origin``; stale ones are closed."""
        conns = self._idle.get(origin)
        if not conns:
            return None
        now = self.loop.time()
        while conns:
            conn = conns.pop()
            if now - conn.idle_since <= self._keepalive and not conn.is_closing():
                conn.state = BUSY
                conn.reused = True
                return conn
            self.discard(conn)
        return None

    async def connect(self, origin: Origin, started: float, timeouts: Timeouts) -> Connection:
        """A connection to ``origin`` for a new exchange: a new one, or one handed over under the cap."""
        deadline = started + min(timeouts.first_byte, timeouts.total)
        if self._open < self._limit:
            self._open += 1
        elif not self._evict():
            handed = await self._wait(origin, deadline)
            if handed is not None:
                return handed
        tls = self._ssl if origin[0] == "https" else None
        try:  # a slot is ours
            conn = await dial(
                self.loop, origin, tls, deadline, connect=timeouts.connect, on_idle_lost=self.discard
            )
        except BaseException:
            self._open -= 1
            self._grant()
            raise
        if self._closed:  # the client closed while this connection was being opened
            conn.shutdown()
            raise ConnectionClosed("connecting", before_response=True)
        self._all.add(conn)
        return conn

    def release(self, conn: Connection) -> None:
        """Take back a connection whose exchange ended: keep it for reuse if it can carry another."""
        if conn.state != BUSY:
            return
        if not self._closed and conn.lingerable():
            conn.linger(_LINGER, self._lingered)  # e.g. a stream read up to [DONE]: its end is near
            return
        if self._closed or not conn.reusable():
            self.discard(conn)
            return
        conn.park()
        waiters = self._waiters
        while waiters:
            origin, waiter = waiters.popleft()
            if waiter.done():
                continue
            if origin == conn.origin:
                conn.reused = True
                waiter.set_result(conn)
            else:  # the slot serves another origin: close this connection for it
                self._drop(conn)
                waiter.set_result(None)
            return
        conn.state = IDLE
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)

    def _lingered(self, conn: Connection, ok: bool) -> None:
        if ok:
            self.release(conn)
        else:
            self.discard(conn)

    def discard(self, conn: Connection) -> None:
        """Close a connection and free its slot (idempotent)."""
        if conn.state == DEAD:
            return
        if conn.state == IDLE:
            conns = self._idle.get(conn.origin)
            if conns is not None and conn in conns:
                conns.remove(conn)
        self._drop(conn)
        self._open -= 1
        self._grant()

    def close(self) -> None:
        """Close every connection and fail every waiter; the pool serves nothing more."""
        self._closed = True
        for conn in list(self._all):
            self._drop(conn)
        self._idle.clear()
        self._open = 0
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionClosed("waiting for a connection", before_response=True))

    def _drop(self, conn: Connection) -> None:
        self._all.discard(conn)
        conn.shutdown()

    def _grant(self) -> None:
        """A slot is free: hand it to the first live waiter (who dials a new connection)."""
        waiters = self._waiters
        while waiters and not self._closed:
            _, waiter = waiters.popleft()
            if not waiter.done():
                self._open += 1
                waiter.set_result(None)
                return

    def _evict(self) -> bool:
        """At the cap: close the oldest idle connection of some origin; its slot becomes the caller's."""
        for conns in self._idle.values():
            if conns:
                self._drop(conns.pop(0))
                return True
        return False

    async def _wait(self, origin: Origin, deadline: float) -> Connection | None:
        waiter: asyncio.Future[Connection | None] = self.loop.create_future()
        self._waiters.append((origin, waiter))
        try:
            async with asyncio.timeout_at(deadline):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()  # handed over just as the wait ended: pass it on
                if handed is None:
                    self._open -= 1
                    self._grant()
                else:
                    self.release(handed)
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise DeadlineExceeded("first_byte", "waiting for a free connection") from None
            raise


class _Target(NamedTuple):
    origin: Origin
    host_header: str
    path: str  # path and query, percent-encoded
    label: str  # host:port, for messages


_LINGER = 1.0  # seconds a connection may wait for the end of a body its reader stopped early
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
    label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return _Target((scheme, host, port), parts.netloc.rsplit("@", 1)[-1], path, label)


_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})


def _encode(request: HttpRequest, target: _Target) -> bytes:
    """The request head and body as one buffer; CR or LF in a header (or the path) is a ValueError."""
    path = target.path
    if request.params:
        path = f"{path}{'&' if '?' in path else '?'}{urlencode(request.params)}"
    host = target.host_header
    lines = [f"{request.method} {path} HTTP/1.1\r\n"]
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in _OWN_HEADERS:
            if lower == "host":
                host = value
            continue
        lines.append(f"{name}: {value}\r\n")
    body = request.body
    lines.append(f"Host: {host}\r\nContent-Length: {len(body)}\r\n\r\n")
    text = "".join(lines)
    breaks = len(lines) + 2
    if text.count("\n") != breaks or text.count("\r") != breaks:
        raise ValueError("a request header name or value (or the request line) contains CR or LF")
    return text.encode() + body if body else text.encode()


_KINDS = {"first_byte": "first-byte deadline", "chunk_gap": "chunk-gap deadline", "total": "total deadline"}


def _network_error(exc: Http1Error, provider: str, host: str) -> UpstreamError:
    where = f"provider {provider!r} ({host})"
    if isinstance(exc, DeadlineExceeded):
        if exc.kind == "connect":
            return UpstreamTimeout(f"timed out connecting to {where}", provider=provider)
        return UpstreamTimeout(f"{where} timed out {exc.phase} ({_KINDS[exc.kind]})", provider=provider)
    if isinstance(exc, ConnectFailed):
        return UpstreamUnreachable(f"cannot connect to {where}: {exc.reason}", provider=provider)
    if isinstance(exc, ConnectionClosed):
        return UpstreamUnreachable(f"{where} closed the connection {exc.phase}", provider=provider)
    if isinstance(exc, BodyTooLarge):
        return UpstreamProtocolError(f"{where} sent a body {exc.phase}", provider=provider)
    return UpstreamProtocolError(f"{where} sent a malformed HTTP response", provider=provider)
