"""A small HTTP forward proxy on loopback: CONNECT tunnels and absolute-form requests, as
corporate proxies (squid and the like) serve them.

It records what it saw (``seen``: method, target, the ``Proxy-Authorization`` it got, and for
absolute-form requests the head it forwarded) and, given ``auth`` ("user:password"), answers 407
to requests without those Basic credentials. An https:// origin is reached through a tunnel, so
the proxy sees only the CONNECT line. Real sockets both ways.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter

_407 = (
    b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n'
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)
_HOP = {"proxy-authorization", "proxy-connection"}


@dataclass
class Seen:
    method: str
    target: str
    authorization: str | None
    forwarded: bytes = b""  # the request head sent on to the origin (absolute form only)


class ForwardProxy:
    def __init__(self, auth: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.auth = f"Basic {base64.b64encode(auth.encode()).decode()}" if auth else None
        self.tls = tls
        self.seen: list[Seen] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, credentials: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: Reader, writer: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        origin: tuple[str, int] | None = None
        upstream: Writer | None = None
        relay: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = line.split(" ", 2)
                headers = [tuple(part.strip() for part in h.split(":", 1)) for h in lines if ":" in h]
                found = {name.lower(): value for name, value in headers}
                self.seen.append(Seen(method, target, found.get("proxy-authorization")))
                if self.auth is not None and found.get("proxy-authorization") != self.auth:
                    writer.write(_407)
                    await writer.drain()
                    return
                if method == "CONNECT":
                    host, _, port = target.rpartition(":")
                    try:
                        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
                    except OSError:
                        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                        await writer.drain()
                        return
                    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    await writer.drain()
                    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
                    return
                url = urlsplit(target)
                where = (url.hostname or "", url.port or 80)
                if where != origin:
                    if upstream is not None:
                        return  # another origin on one client connection: not for this proxy
                    up_reader, upstream = await asyncio.open_connection(*where)
                    origin = where
                    relay = asyncio.ensure_future(pipe(up_reader, writer))
                body = await reader.readexactly(int(found.get("content-length", "0")))
                path = url.path + (f"?{url.query}" if url.query else "")
                kept = "".join(f"{n}: {v}\r\n" for n, v in headers if n.lower() not in _HOP)
                forwarded = f"{method} {path} HTTP/1.1\r\n{kept}\r\n".encode("latin-1")
                self.seen[-1].forwarded = forwarded
                upstream.write(forwarded + body)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if relay is not None:
                relay.cancel()
            if upstream is not None:
                upstream.close()
            writer.close()
            self._tasks.discard(task)


async def pipe(reader: Reader, writer: Writer) -> None:
    """Copy ``reader`` to ``writer`` until either side ends, then close ``writer``."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
