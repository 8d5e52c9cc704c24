"""One HTTP/1.1 client connection: an asyncio protocol that parses answers with httptools.

A ``Connection`` carries one exchange at a time for ``transport.client`` (which pools them): it
writes the request, arms the exchange's deadlines as loop timer handles (no task and no
``asyncio.timeout`` on the fast path), buffers the body with backpressure, decodes gzip/deflate and
says when it can carry another exchange. Failures are ``Http1Error`` subclasses naming the phase
("waiting for the response"); ``transport.client`` turns them into gateway errors.

The chunk-gap deadline of a stream runs from its last complete event, not its last byte: a stream
whose bytes trickle in without ever ending an event (``transport.progress``) is a stall too.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import zlib
from collections.abc import Callable
from typing import Final, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from switchgear.config.model import Timeouts
from switchgear.transport.network import Endpoint
from switchgear.transport.progress import Tracker, tracker

HIGH_WATER: Final = 1024 * 1024  # unread body bytes above which reading from the socket pauses
IDLE: Final = 0  # Connection.state: in the pool's idle list
BUSY: Final = 1  # carrying an exchange (or being handed to one)
DEAD: Final = 2  # closed, its pool slot freed


class Http1Error(Exception):
    """A failed exchange; ``phase`` says what the client was doing, e.g. "waiting for the response"."""

    def __init__(self, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase


class DeadlineExceeded(Http1Error):
    def __init__(self, kind: str, phase: str) -> None:
        super().__init__(phase)
        self.kind = kind  # connect, first_byte, chunk_gap, trickle (bytes but no event) or total


class ConnectionClosed(Http1Error):
    def __init__(self, phase: str, *, before_response: bool, tls: str | None = None) -> None:
        super().__init__(phase)
        self.before_response = before_response  # not one response byte arrived: safe to retry
        self.tls = tls  # the TLS alert or error that closed it, if one did


class ConnectFailed(Http1Error):
    def __init__(self, exc: OSError) -> None:
        super().__init__("connecting")
        if isinstance(exc, ssl.SSLError):
            self.reason = tls_problem(exc)
        elif isinstance(exc, socket.gaierror):
            self.reason = exc.strerror or "name resolution failed"
        elif exc.errno is not None and exc.errno > 0:
            self.reason = os.strerror(exc.errno)
        else:
            self.reason = exc.strerror or str(exc) or type(exc).__name__


class ProxyRefused(Http1Error):
    """The proxy answered CONNECT with something other than 2xx."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__("opening a tunnel")
        self.status = status
        self.reason = reason


def tls_problem(exc: ssl.SSLError) -> str:
    """What went wrong in TLS, with the setting that fixes it where there is one."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate verification failed: {exc.verify_message or exc.reason} "
            "(to trust the server's CA set tls.ca_file, or SSL_CERT_FILE / upstream.ca_file)"
        )
    reason = str(exc.reason or type(exc).__name__)
    lower = reason.lower()
    if "certificate_required" in lower or ("alert" in lower and "certificate" in lower):
        return f"TLS error ({reason}): the server wants a client certificate (tls.cert_file / tls.key_file)"
    return f"TLS error ({reason})"


class MalformedResponse(Http1Error):
    pass


class BodyTooLarge(Http1Error):
    pass  # its phase reads "over N bytes"


class Connection(asyncio.Protocol):
    """One keep-alive connection and the state of the exchange it carries."""

    __slots__ = (
        "_answered", "_body_seen", "_buffered", "_chunks", "_complete", "_content_type", "_decoder",
        "_encoding", "_error", "_event_at", "_fb_timer", "_first_byte", "_framed", "_gap", "_head",
        "_headers_done", "_high_water", "_interim", "_keep_alive", "_linger", "_loop", "_lost",
        "_on_idle_lost", "_parser", "_paused", "_progress", "_progressed", "_total_timer", "_transport",
        "_trickled", "_waiter", "_whole", "endpoint", "idle_since", "raw_headers", "reused", "state",
        "status",
    )  # fmt: skip

    def __init__(
        self, loop: asyncio.AbstractEventLoop, endpoint: Endpoint, on_idle_lost: Callable[[Connection], None]
    ) -> None:
        self._loop = loop
        self.endpoint = endpoint  # the pool's key: the origin and the way it is reached
        self._on_idle_lost = on_idle_lost  # the pool forgets an idle connection the server closed
        self._parser = HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._fb_timer: asyncio.TimerHandle | None = None
        self._total_timer: asyncio.TimerHandle | None = None
        self._paused = self._lost = self.reused = False
        self._linger: Callable[[Connection, bool], None] | None = None
        self.state = BUSY
        self.idle_since = 0.0
        self._first_byte = self._gap = 0.0
        self._clear(stream=False, head=False)

    def _clear(self, *, stream: bool, head: bool) -> None:
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._high_water = HIGH_WATER
        self._headers_done = self._complete = self._body_seen = self._answered = False
        self._interim = self._framed = self._keep_alive = False
        self._whole = not stream
        self._head = head
        self._error: Http1Error | None = None
        self._encoding: bytes | None = None
        self._content_type: bytes | None = None
        self._decoder: zlib._Decompress | None = None
        self._progress: Tracker | None = None  # says whether a block of a stream ends an event
        self._progressed = self._trickled = False  # an event ended / bytes without one, since _event_at
        self._event_at = 0.0  # when the stream last made progress (its first chunk, then event ends)

    # -- the exchange, driven by transport.client ------------------------------------------------

    def begin(self, data: bytes, started: float, timeouts: Timeouts, *, stream: bool, head: bool) -> None:
        """Start an exchange: arm its deadlines (measured from ``started``) and write the request."""
        self._clear(stream=stream, head=head)
        if self._lost:  # closed by the server since it was handed over: nothing was sent
            self._fail(ConnectionClosed("waiting for the response", before_response=True))
            return
        self._first_byte = timeouts.first_byte
        self._gap = timeouts.chunk_gap
        loop = self._loop
        self._fb_timer = loop.call_at(started + timeouts.first_byte, self._passed, "first_byte")
        if stream or timeouts.total < timeouts.first_byte:
            self._total_timer = loop.call_at(started + timeouts.total, self._passed, "total")
        cast(asyncio.Transport, self._transport).write(data)

    async def response(self) -> None:
        """Wait until the response headers arrived (``status`` and ``raw_headers`` are set)."""
        while not self._headers_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    def take(self) -> bytes | None:
        """The body bytes buffered since the last call, b"" at its end, None when none are ready."""
        chunks = self._chunks
        if chunks:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            chunks.clear()
            self._buffered = 0
            if self._paused:
                self._resume()
            progress = self._progress
            if progress is None or progress(data):
                self._progressed = True
            else:
                self._trickled = True
            return data
        if self._error is not None:
            raise self._error
        return b"" if self._complete else None

    async def chunk(self) -> bytes:
        """The next body bytes, waiting (first-byte, then chunk-gap deadline) when none are buffered."""
        while True:
            data = self.take()
            if data is not None:
                return data
            await self._wait()

    async def read(self, limit: int) -> bytes:
        """The whole (rest of the) body, at most ``limit`` bytes, within the first-byte deadline."""
        if not self._whole:  # a stream read whole: one first-byte deadline for the rest of it
            self._whole = True
            if self._fb_timer is None and not self._complete and self._error is None:
                loop = self._loop
                self._fb_timer = loop.call_at(loop.time() + self._first_byte, self._passed, "first_byte")
        self._high_water = limit
        if self._paused and self._buffered <= limit:
            self._resume()
        while True:
            if self._buffered > limit:
                raise BodyTooLarge(f"over {limit} bytes")
            if self._complete:
                chunks = self._chunks
                data = (chunks[0] if len(chunks) == 1 else b"".join(chunks)) if chunks else b""
                chunks.clear()
                self._buffered = 0
                return data
            if self._error is not None:
                raise self._error
            await self._wait()

    def reusable(self) -> bool:
        """The exchange ended cleanly and the connection can carry another."""
        return self._complete and self._keep_alive and self._error is None and not self.is_closing()

    def park(self) -> None:
        """Going idle: read again (if paused) so that a close by the server is noticed."""
        if self._paused:
            self._resume()

    def is_closing(self) -> bool:
        return self._lost or self._transport is None or self._transport.is_closing()

    def shutdown(self) -> None:
        """Close the connection now; an exchange still running fails."""
        self.state = DEAD
        if not self._complete and self._error is None:
            self._fail(ConnectionClosed(self._phase(), before_response=False))
        elif self._transport is not None:
            self._transport.abort()

    async def _wait(self) -> None:
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        gap = None
        if self._fb_timer is None:  # a stream past its first chunk: the next event is due a chunk gap
            if self._progressed:  # after the last one (bytes that end no event do not count)
                self._progressed = self._trickled = False
                self._event_at = loop.time()
            gap = loop.call_at(self._event_at + self._gap, self._passed, "chunk_gap")
        try:
            await waiter
        finally:
            self._waiter = None
            if gap is not None:
                gap.cancel()

    def lingerable(self) -> bool:
        """The reader stopped early but the body may still end cleanly (e.g. after ``[DONE]``)."""
        return self._headers_done and not self._complete and self._error is None and not self.is_closing()

    def linger(self, seconds: float, done: Callable[[Connection, bool], None]) -> None:
        """Keep reading (and dropping) the rest of the body for up to ``seconds``, then call
        ``done(self, True)`` if it ended cleanly (the connection can be reused), else
        ``done(self, False)``."""
        self._stop_timers()
        self._chunks.clear()
        self._buffered = 0
        self._high_water = 1 << 30
        if self._paused:
            self._resume()
        self._linger = done
        self._fb_timer = self._loop.call_at(self._loop.time() + seconds, self._passed, "linger")

    def _end_linger(self, ok: bool) -> None:
        done = self._linger
        if done is not None:
            self._linger = None
            done(self, ok)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Http1Error) -> None:
        if self._error is None:
            self._error = error
            self._stop_timers()
            if self._transport is not None:
                self._transport.abort()
            self._wake()
            self._end_linger(False)

    def _phase(self) -> str:
        if not self._headers_done:
            return "waiting for the response"
        if self._whole:
            return "reading the response"
        return "between stream chunks" if self._body_seen else "waiting for the first chunk"

    def _stop_timers(self) -> None:
        timer = self._fb_timer
        if timer is not None:
            timer.cancel()
            self._fb_timer = None
        timer = self._total_timer
        if timer is not None:
            timer.cancel()
            self._total_timer = None

    def _passed(self, kind: str) -> None:
        if kind == "chunk_gap" and self._trickled:
            self._fail(DeadlineExceeded("trickle", "sending bytes that completed no stream event"))
        else:
            self._fail(DeadlineExceeded(kind, self._phase()))

    def _resume(self) -> None:
        self._paused = False
        if self._transport is not None:
            self._transport.resume_reading()

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.state != BUSY or self._complete or self._error is not None:
            self._keep_alive = False  # bytes nobody asked for: this connection carries nothing more
            if self.state == IDLE:
                self._on_idle_lost(self)
            elif self._transport is not None:
                self._transport.abort()
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade):
            self._malformed()

    def _malformed(self) -> None:
        if self._complete:  # bytes after a complete answer: the exchange stands, the connection ends
            self._keep_alive = False
        else:
            self._fail(MalformedResponse(self._phase()))

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self.state == IDLE:
            self._on_idle_lost(self)
        elif self.state == BUSY and not self._complete and self._error is None:
            if self._headers_done and not self._framed and not self._interim:
                self.on_message_complete()  # a body delimited by the end of the connection
            else:
                tls = tls_problem(exc) if isinstance(exc, ssl.SSLError) else None
                self._fail(ConnectionClosed(self._phase(), before_response=not self._answered, tls=tls))

    # -- httptools callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer to one request
            raise MalformedResponse("reading the response")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))
        size = len(name)
        if size in {12, 14, 16, 17}:
            lower = name.lower()
            if lower == b"content-encoding":
                self._encoding = value.strip().lower()
            elif lower in {b"content-length", b"transfer-encoding"}:
                self._framed = True
            elif lower == b"content-type":
                self._content_type = value

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self._interim = True
            self.raw_headers = []
            self._encoding = self._content_type = None
            self._framed = False
            return
        self.status = status
        self._keep_alive = parser.should_keep_alive()
        self._headers_done = True
        if not self._whole:
            self._progress = tracker(self._content_type)
        encoding = self._encoding
        if encoding in {b"gzip", b"x-gzip"}:
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._head:  # no body follows; the parser cannot know, so the connection is not reused
            self._keep_alive = False
            self.on_message_complete()
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._encoding is not None:
            decoder = self._decoder
            if decoder is None and self._encoding == b"deflate":  # zlib-wrapped or raw deflate
                wrapped = len(body) > 1 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
                wbits = zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
                decoder = self._decoder = zlib.decompressobj(wbits)
            if decoder is not None:
                body = decoder.decompress(body)
                if not body:
                    return
        self._chunks.append(body)
        self._buffered += len(body)
        if not self._body_seen:
            self._body_seen = True
            if not self._whole and self._fb_timer is not None:  # a stream's first chunk is in
                self._fb_timer.cancel()
                self._fb_timer = None
                self._event_at = self._loop.time()
        if self._buffered > self._high_water:
            if not self._paused and self._transport is not None:
                self._paused = True
                self._transport.pause_reading()
            self._wake()
        elif not self._whole:
            self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        decoder = self._decoder
        if decoder is not None:
            try:
                tail = decoder.flush()
            except zlib.error:
                self._fail(MalformedResponse(self._phase()))
                return
            if tail:
                self._chunks.append(tail)
                self._buffered += len(tail)
        self._complete = True
        self._stop_timers()
        self._wake()
        self._end_linger(True)
