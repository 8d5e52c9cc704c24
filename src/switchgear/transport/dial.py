"""Opening a new upstream connection: name lookup, TCP, a proxy tunnel where there is one, TLS.

Direct: the origin's addresses (from the ``Resolver``) are tried in order, TLS on top for https.
Through a proxy: the proxy's addresses likewise (TLS to it for an https:// proxy); an http://
origin is then spoken to in absolute form through the proxy (the pool keeps such a connection for
that origin only), an https:// origin gets ``CONNECT host:port`` and TLS to the origin inside the
tunnel, so the proxy sees neither the request nor the provider's key. ``Proxy-Authorization`` goes
only to the proxy. All of it within the connect deadline.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import cast

from switchgear.transport.dns import Resolver
from switchgear.transport.http1 import (
    ConnectFailed,
    Connection,
    ConnectionClosed,
    DeadlineExceeded,
    MalformedResponse,
    ProxyRefused,
)
from switchgear.transport.network import Endpoint, Proxy

_PROXY_HEAD_LIMIT = 64 * 1024  # the proxy's answer to CONNECT


async def dial(
    loop: asyncio.AbstractEventLoop,
    endpoint: Endpoint,
    resolver: Resolver,
    deadline: float,
    *,
    connect: float,
    on_idle_lost: Callable[[Connection], None],
) -> Connection:
    """A new connection to ``endpoint`` within ``connect`` seconds (and before ``deadline``)."""
    conn = Connection(loop, endpoint, on_idle_lost)
    connect_at = loop.time() + connect
    proxy = endpoint.proxy
    try:
        async with asyncio.timeout_at(min(connect_at, deadline)):
            if proxy is None:
                await _open(loop, resolver, conn, (endpoint.host, endpoint.port), endpoint.tls)
            elif not endpoint.tunnel:
                await _open(loop, resolver, conn, (proxy.host, proxy.port), endpoint.proxy_tls)
            else:
                await _tunnel(loop, resolver, conn, endpoint, proxy)
    except TimeoutError:
        conn.shutdown()
        raise DeadlineExceeded("connect" if connect_at <= deadline else "first_byte", "connecting") from None
    except OSError as exc:
        conn.shutdown()
        raise ConnectFailed(exc) from None
    except BaseException:
        conn.shutdown()
        raise
    return conn


async def _open(
    loop: asyncio.AbstractEventLoop,
    resolver: Resolver,
    protocol: asyncio.Protocol,
    address: tuple[str, int],
    tls: ssl.SSLContext | None,
) -> asyncio.Transport:
    """A connection to ``address`` (host, port): each of the host's addresses in turn until one accepts."""
    host, port = address
    addresses = await resolver.resolve(host)
    failure: OSError | None = None
    for i, (family, ip) in enumerate(addresses):
        try:
            transport, _ = await loop.create_connection(
                lambda: protocol,
                ip,
                port,
                family=family,
                ssl=tls,
                server_hostname=host if tls is not None else None,
            )
        except ssl.SSLError:
            raise  # the server answered: another address of it would say the same
        except OSError as exc:
            failure = failure or exc
            continue
        if i:
            resolver.prefer(host, (family, ip))
        return transport
    raise failure or OSError("no address to connect to")


async def _tunnel(
    loop: asyncio.AbstractEventLoop, resolver: Resolver, conn: Connection, endpoint: Endpoint, proxy: Proxy
) -> None:
    """CONNECT through ``proxy``, then TLS to the origin inside the tunnel; ``conn`` speaks over it."""
    host, port = endpoint.host, endpoint.port
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if proxy.authorization is not None:
        head += f"Proxy-Authorization: {proxy.authorization}\r\n"
    tunnel = _Tunnel(loop, (head + "\r\n").encode("latin-1"))
    transport = await _open(loop, resolver, tunnel, (proxy.host, proxy.port), endpoint.proxy_tls)
    try:
        await tunnel.answered
        tls = await loop.start_tls(
            transport, conn, cast(ssl.SSLContext, endpoint.tls), server_hostname=endpoint.host
        )
    except BaseException:
        transport.abort()
        raise
    if tls is None:  # the loop closed the transport under us
        raise ConnectionClosed("opening a tunnel", before_response=True)
    conn.connection_made(tls)


class _Tunnel(asyncio.Protocol):
    """Sends CONNECT and reads the proxy's answer; the transport then carries the tunnel."""

    def __init__(self, loop: asyncio.AbstractEventLoop, request: bytes) -> None:
        self._request = request
        self._buffer = b""
        self.answered: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self._request)

    def data_received(self, data: bytes) -> None:
        if self.answered.done():
            return
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _PROXY_HEAD_LIMIT:
                self.answered.set_exception(MalformedResponse("opening a tunnel"))
            return
        line = self._buffer[: self._buffer.find(b"\r\n")].decode("latin-1")
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            self.answered.set_exception(MalformedResponse("opening a tunnel"))
        elif not 200 <= int(parts[1]) < 300:
            reason = parts[2].strip()[:100] if len(parts) > 2 else ""
            self.answered.set_exception(ProxyRefused(int(parts[1]), reason))
        elif len(self._buffer) > end + 4:  # the origin cannot speak before the TLS client hello
            self.answered.set_exception(MalformedResponse("opening a tunnel"))
        else:
            self.answered.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answered.done():
            self.answered.set_exception(ConnectionClosed("opening a tunnel", before_response=True))
