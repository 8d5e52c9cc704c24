"""One outbound HTTP client for every provider: pooled keep-alive connections and four deadlines.

Deadlines per attempt (``Timeouts``): ``connect``; ``first_byte`` — until the response headers
and, for streams, the first body chunk; ``chunk_gap`` — the longest silence between stream chunks;
``total`` — the whole exchange. Network failures become ``UpstreamUnreachable`` /
``UpstreamTimeout`` naming the provider and its host, never a URL (query strings may hold keys).
Cancelling the awaiting task (client disconnect) closes the upstream connection at once.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import aiohttp

from switchgear.config.model import Timeouts, UpstreamSettings
from switchgear.core.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)


class UpstreamResponse:
    """An upstream answer whose headers have arrived; the body is read with deadlines."""

    __slots__ = ("_resp", "_timeouts", "host", "provider", "started", "status")

    def __init__(
        self, resp: aiohttp.ClientResponse, timeouts: Timeouts, provider: str, host: str
    ) -> None:
        self._resp = resp
        self._timeouts = timeouts
        self.status = resp.status
        self.provider = provider
        self.host = host
        self.started = False

    @property
    def headers(self) -> aiohttp.typedefs.LooseHeaders:
        return self._resp.headers

    def header(self, name: str) -> str | None:
        return self._resp.headers.get(name)

    async def read(self, limit: int = 64 * 1024 * 1024) -> bytes:
        """The whole body (bounded), within the first-byte deadline."""
        try:
            length = self._resp.content_length
            if length is not None and length <= limit:
                return await self._resp.read()  # aiohttp's read timeout bounds it
            async with asyncio.timeout(self._timeouts.first_byte):
                chunks = []
                size = 0
                async for chunk in self._resp.content.iter_any():
                    size += len(chunk)
                    if size > limit:
                        raise UpstreamProtocolError(
                            f"provider {self.provider!r} sent a body over {limit} bytes", provider=self.provider
                        )
                    chunks.append(chunk)
            return b"".join(chunks)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _network_error(exc, self.provider, self.host, "reading the response") from None
        finally:
            self._resp.release()

    async def chunk(self, loop: asyncio.AbstractEventLoop) -> bytes:
        """The next piece of a streamed body (b"" at its end), within first-byte or chunk-gap deadlines."""
        delay = self._timeouts.chunk_gap if self.started else self._timeouts.first_byte
        try:
            async with asyncio.timeout_at(loop.time() + delay):
                data = await self._resp.content.readany()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            phase = "between stream chunks" if self.started else "waiting for the first chunk"
            raise _network_error(exc, self.provider, self.host, phase) from None
        self.started = True
        return data

    def close(self) -> None:
        """Abort the exchange and drop the connection (used on error and cancellation)."""
        self._resp.close()

    def release(self) -> None:
        self._resp.release()


class HttpClient:
    """The one pooled client; built at startup from ``UpstreamSettings`` and closed at shutdown."""

    def __init__(self, settings: UpstreamSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._settings.max_connections,
            limit_per_host=0,
            keepalive_timeout=self._settings.keepalive,
            ttl_dns_cache=300,
            family=socket.AF_UNSPEC,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
            raise_for_status=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, request: HttpRequest, timeouts: Timeouts, provider: str, *, stream: bool = False
    ) -> UpstreamResponse:
        """Send ``request``; return once the response headers arrived."""
        session = self._session
        if session is None:
            raise RuntimeError("HttpClient.start() was not called")
        host = _host(request.url)
        try:
            if stream:
                # Headers and the first chunk share the first-byte deadline; chunk() enforces it.
                async with asyncio.timeout(timeouts.first_byte):
                    resp = await self._request(session, request, _stream_timeout(timeouts))
            else:
                # A whole answer: aiohttp's read timeout is the first-byte deadline, no extra timer.
                resp = await self._request(session, request, _answer_timeout(timeouts))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _network_error(exc, provider, host, "waiting for the response") from None
        return UpstreamResponse(resp, timeouts, provider, host)

    @staticmethod
    async def _request(
        session: aiohttp.ClientSession, request: HttpRequest, timeout: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        return await session.request(
            request.method,
            request.url,
            data=request.body or None,
            headers=request.headers,
            params=request.params or None,
            timeout=timeout,
            allow_redirects=False,
        )


@lru_cache(maxsize=256)
def _answer_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.first_byte)


@lru_cache(maxsize=256)
def _stream_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect)


@lru_cache(maxsize=1024)
def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


def _network_error(
    exc: BaseException, provider: str, host: str, phase: str
) -> UpstreamTimeout | UpstreamUnreachable | UpstreamProtocolError:
    where = f"provider {provider!r} ({host})"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamTimeout(f"timed out connecting to {where}", provider=provider)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"{where} timed out {phase}", provider=provider)
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return UpstreamUnreachable(f"cannot connect to {where}: {reason}", provider=provider)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | ConnectionError):
        return UpstreamUnreachable(f"{where} closed the connection {phase}", provider=provider)
    if isinstance(exc, aiohttp.ClientResponseError):
        return UpstreamProtocolError(f"{where} sent a malformed HTTP response", provider=provider)
    return UpstreamUnreachable(f"{where} failed {phase}: {type(exc).__name__}", provider=provider)
