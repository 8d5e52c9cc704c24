"""Limits on client connections, enforced before a request reaches the application.

uvicorn's httptools protocol has no bound on the size of a request head and no deadline for it to
arrive, and accepts connections until the process runs out of file descriptors. This subclass adds,
without any credential being needed to trip them:

- a bound on the request head (request line + headers): above it the client gets a 431 and the
  connection closes, so a head never holds more than about ``max_header_size`` of memory;
- a deadline for the head, from the connect or the first byte of a request to its blank line: a
  head trickled in slowly (or never sent) is answered 408 (or just closed) at the deadline;
- a cap on open connections: beyond it a new connection gets a 503 and is closed at once, while
  the open ones go on.

The idle keep-alive timeout stays uvicorn's. The per-request cost is a few attribute operations per
``data_received``; a timer is armed only for a head that does not arrive in one piece (and once per
connection, at the connect).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from switchgear.core.errors import ClientError, GatewayError
from switchgear.server.errors import openai_error_body

log = logging.getLogger("switchgear.server")

FD_RESERVE = 100
"""File descriptors kept free for the listener, logs, databases and the like."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_size: int
    header_timeout: float
    max_connections: int


class ConnectionGate:
    """What the connections of one server share: whether it is draining, and refusal counts."""

    __slots__ = ("draining", "last_warning", "refused")

    def __init__(self) -> None:
        self.draining = False
        self.refused = 0
        self.last_warning = 0.0


def default_max_connections(upstream_connections: int) -> int:
    """Open client connections that fit in this process's file limit beside the upstream pool.

    The soft limit is raised to the hard one first (as servers commonly do); the client share is
    what is left after ``upstream_connections`` and a reserve, and never less than a quarter.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(soft // 4, soft - upstream_connections - FD_RESERVE)


class _HeadTooLarge(Exception):
    """Raised from the parser's headers-complete callback to stop parsing the request."""


_AWAITING_FIRST_HEAD = object()


def _response(status: int, error: GatewayError | None, extra: bytes = b"") -> bytes:
    body = openai_error_body(error) if error is not None else b""
    head = [STATUS_LINE[status], b"connection: close\r\ncontent-length: ", str(len(body)).encode(), b"\r\n"]
    if body:
        head.append(b"content-type: application/json\r\n")
    return b"".join([*head, extra, b"\r\n", body])


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above (see ``protocol_class``).

    A head is incomplete while ``self.headers`` (the list uvicorn starts for each message) is not
    the one whose headers completed last: no extra callback per message is needed to know it.
    """

    max_header_size: ClassVar[int]
    header_timeout: ClassVar[float]
    max_connections: ClassVar[int]
    gate: ClassVar[ConnectionGate]

    _complete: object = None  # the headers list of the last complete head (a marker when none yet)
    _head_bytes = 0  # bytes received while the current head was incomplete
    _chunk = 0  # size of the data being parsed
    _head_timer: asyncio.TimerHandle | None = None
    _draining = False  # answer this connection's next response with "connection: close"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self.transport = transport
            self._refuse_connection()
            return
        HttpToolsProtocol.connection_made(self, transport)
        self._complete = _AWAITING_FIRST_HEAD
        self._draining = self.gate.draining
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        HttpToolsProtocol.connection_lost(self, exc)

    @property
    def in_head(self) -> bool:
        """A request head has begun (or the connection is new) and is not complete."""
        return self.headers is not self._complete

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received, plus the head accounting after the parser has seen the data.
        self._unset_keepalive_if_required()
        self._chunk = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                self._head_too_large()
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.headers is not self._complete:  # the head is still incomplete
            self._head_bytes += self._chunk
            if self._head_bytes > self.max_header_size:
                self._head_too_large()
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(self.header_timeout, self._head_expired)

    def on_headers_complete(self) -> None:
        self._complete = self.headers
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        # The bytes counted so far plus this chunk bound the head's size; only when that bound is
        # over the limit (a large body in the same chunk, or a large head) is the head measured.
        if self._head_bytes + self._chunk > self.max_header_size and self._head_size() > self.max_header_size:
            raise _HeadTooLarge
        self._head_bytes = 0
        HttpToolsProtocol.on_headers_complete(self)
        if self._draining:
            self.cycle.keep_alive = False

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) + 16

    def _close_with(self, response: bytes) -> None:
        self._complete = self.headers
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _head_too_large(self) -> None:
        limit = self.max_header_size
        error = ClientError(
            f"the request head (request line and headers) exceeds {limit} bytes (server.max_header_size)",
            code="request_header_fields_too_large",
            status=431,
        )
        self._close_with(_response(431, error))

    def _head_expired(self) -> None:
        self._head_timer = None
        if not self.in_head or self.transport.is_closing():
            return
        if self._head_bytes == 0:
            self.transport.close()  # connected and sent nothing (or nothing since the last answer)
            return
        error = ClientError(
            f"the request head did not arrive within {self.header_timeout:g}s (server.header_timeout)",
            code="request_timeout",
            status=408,
        )
        self._close_with(_response(408, error))

    def _refuse_connection(self) -> None:
        gate = self.gate
        gate.refused += 1
        now = time.monotonic()
        if now - gate.last_warning >= 10:
            gate.last_warning = now
            log.warning(
                "refusing new connections: %d are open (server.max_connections); %d refused so far",
                len(self.connections),
                gate.refused,
            )
        error = GatewayError(
            "the gateway is at its connection limit; retry shortly", code="too_many_connections", status=503
        )
        self.transport.write(_response(503, error, b"retry-after: 1\r\n"))
        self.transport.close()

    def drain(self) -> None:
        """The server is draining: close this connection if idle, else after its response."""
        self._draining = True
        if self.in_head:
            return  # let the request in flight on this connection arrive and be answered
        self.shutdown()


def protocol_class(limits: ConnectionLimits, gate: ConnectionGate) -> type[GuardedHttpToolsProtocol]:
    """A protocol class bound to ``limits`` (uvicorn takes the class as its ``http`` setting)."""
    attributes: dict[str, Any] = {
        "max_header_size": limits.max_header_size,
        "header_timeout": limits.header_timeout,
        "max_connections": limits.max_connections,
        "gate": gate,
        "__doc__": GuardedHttpToolsProtocol.__doc__,
    }
    return type("BoundHttpToolsProtocol", (GuardedHttpToolsProtocol,), attributes)
