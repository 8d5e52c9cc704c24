"""The pool of upstream connections: idle ones per endpoint, a global cap and a per-origin cap.

Idle connections are kept per ``Endpoint`` (an origin reached one way) and reused newest first.
Opening a connection takes a slot of the global cap (``upstream.max_connections``) and one of its
endpoint's cap (``upstream.max_connections_per_origin``), so one busy provider cannot take every
connection. Whoever finds a cap full waits in line (FIFO), for its own origin or for any slot; at
the global cap an idle connection of another origin is closed to make room. A connection that
ends its exchange goes first to a waiter of its own origin, then to the first waiter of any.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final

from switchgear.config.model import Timeouts
from switchgear.transport.dial import dial
from switchgear.transport.dns import Resolver
from switchgear.transport.http1 import BUSY, DEAD, IDLE, Connection, ConnectionClosed, DeadlineExceeded
from switchgear.transport.network import Endpoint

LINGER: Final = 1.0  # seconds a connection may wait for the end of a body its reader stopped early

# A waiter learns the outcome of its wait: a Connection handed over, or None when slots were
# reserved for it (it opens a connection itself).
Waiter = asyncio.Future[Connection | None]


class Pool:
    __slots__ = (
        "_all", "_closed", "_idle", "_keepalive", "_limit", "_open", "_per", "_per_limit", "_per_waiters",
        "_waiters", "loop", "resolver",
    )  # fmt: skip

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        limit: int,
        per_origin: int,
        keepalive: float,
        resolver: Resolver,
    ) -> None:
        self.loop = loop
        self.resolver = resolver
        self._limit = limit
        self._per_limit = min(per_origin, limit)
        self._keepalive = keepalive
        self._open = 0  # connections open or being opened, idle or not
        self._per: dict[Endpoint, int] = {}  # the same, per endpoint
        self._all: set[Connection] = set()
        self._idle: dict[Endpoint, list[Connection]] = {}
        self._waiters: deque[tuple[Endpoint, Waiter]] = deque()  # for a global slot
        self._per_waiters: dict[Endpoint, deque[Waiter]] = {}  # for a slot of their own origin
        self._closed = False

    def idle(self, endpoint: Endpoint) -> Connection | None:
        """The most recently used live idle connection to ``endpoint``; stale ones are closed."""
        conns = self._idle.get(endpoint)
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

    async def connect(self, endpoint: Endpoint, started: float, timeouts: Timeouts) -> Connection:
        """A connection to ``endpoint`` for a new exchange: a new one, or one handed over under a cap."""
        deadline = started + min(timeouts.first_byte, timeouts.total)
        while True:
            if self._per.get(endpoint, 0) >= self._per_limit:
                handed = await self._wait_origin(endpoint, deadline)
                if handed is not None:
                    return handed
                break  # both slots were handed to us
            if self._open < self._limit or self._evict():
                self._open += 1
                self._per[endpoint] = self._per.get(endpoint, 0) + 1
                break
            handed = await self._wait_any(endpoint, deadline)
            if handed is not None:
                return handed
            if self._per.get(endpoint, 0) < self._per_limit:  # a global slot is ours: take the origin's
                self._per[endpoint] = self._per.get(endpoint, 0) + 1
                break
            self._open -= 1  # the origin filled up meanwhile: pass the slot on, wait for the origin
            self._grant()
        try:  # both slots are ours
            conn = await dial(
                self.loop,
                endpoint,
                self.resolver,
                deadline,
                connect=timeouts.connect,
                on_idle_lost=self.discard,
            )
        except BaseException:
            self._free(endpoint)
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
            conn.linger(LINGER, self._lingered)  # e.g. a stream read up to [DONE]: its end is near
            return
        if self._closed or not conn.reusable():
            self.discard(conn)
            return
        conn.park()
        endpoint = conn.endpoint
        mine = self._per_waiters.get(endpoint)
        while mine:
            waiter = mine.popleft()
            if not waiter.done():
                conn.reused = True
                waiter.set_result(conn)
                return
        waiters = self._waiters
        while waiters:
            wanted, waiter = waiters.popleft()
            if waiter.done():
                continue
            if wanted is endpoint:
                conn.reused = True
                waiter.set_result(conn)
            else:  # the slot serves another origin: close this connection for it
                self._drop(conn)
                self._count_down(endpoint)
                waiter.set_result(None)
            return
        conn.state = IDLE
        conn.idle_since = self.loop.time()
        self._idle.setdefault(endpoint, []).append(conn)

    def _lingered(self, conn: Connection, ok: bool) -> None:
        if ok:
            self.release(conn)
        else:
            self.discard(conn)

    def discard(self, conn: Connection) -> None:
        """Close a connection and free its slots (idempotent)."""
        if conn.state == DEAD:
            return
        if conn.state == IDLE:
            conns = self._idle.get(conn.endpoint)
            if conns is not None and conn in conns:
                conns.remove(conn)
        self._drop(conn)
        self._free(conn.endpoint)

    def close(self) -> None:
        """Close every connection and fail every waiter; the pool serves nothing more."""
        self._closed = True
        for conn in list(self._all):
            self._drop(conn)
        self._idle.clear()
        self._open = 0
        self._per.clear()
        waiters = [waiter for _, waiter in self._waiters]
        for line in self._per_waiters.values():
            waiters.extend(line)
        self._waiters.clear()
        self._per_waiters.clear()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionClosed("waiting for a connection", before_response=True))

    def _drop(self, conn: Connection) -> None:
        self._all.discard(conn)
        conn.shutdown()

    def _count_down(self, endpoint: Endpoint) -> None:
        count = self._per.get(endpoint, 0) - 1
        if count > 0:
            self._per[endpoint] = count
        else:
            self._per.pop(endpoint, None)

    def _free(self, endpoint: Endpoint) -> None:
        """A connection of ``endpoint`` is gone (or was never opened): its two slots go to the first
        waiter of that origin, else the global slot to the first waiter of any."""
        if self._closed:
            return
        mine = self._per_waiters.get(endpoint)
        while mine:
            waiter = mine.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        if mine is not None:
            del self._per_waiters[endpoint]
        self._count_down(endpoint)
        self._open -= 1
        self._grant()

    def _grant(self) -> None:
        """A global slot is free: hand it to the first live waiter (who dials a new connection)."""
        waiters = self._waiters
        while waiters and not self._closed:
            _, waiter = waiters.popleft()
            if not waiter.done():
                self._open += 1
                waiter.set_result(None)
                return

    def _evict(self) -> bool:
        """At the cap: close the oldest idle connection of some origin; its slot becomes the caller's."""
        for endpoint, conns in self._idle.items():
            if conns:
                self._drop(conns.pop(0))
                self._count_down(endpoint)
                return True
        return False

    async def _wait_any(self, endpoint: Endpoint, deadline: float) -> Connection | None:
        waiter: Waiter = self.loop.create_future()
        self._waiters.append((endpoint, waiter))
        return await self._wait(waiter, endpoint, deadline, reserved=self._give_back)

    async def _wait_origin(self, endpoint: Endpoint, deadline: float) -> Connection | None:
        waiter: Waiter = self.loop.create_future()
        self._per_waiters.setdefault(endpoint, deque()).append(waiter)
        return await self._wait(waiter, endpoint, deadline, reserved=self._free)

    def _give_back(self, endpoint: Endpoint) -> None:
        self._open -= 1
        self._grant()

    async def _wait(
        self, waiter: Waiter, endpoint: Endpoint, deadline: float, *, reserved: Callable[[Endpoint], None]
    ) -> Connection | None:
        try:
            async with asyncio.timeout_at(deadline):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()  # handed over just as the wait ended: pass it on
                if handed is None:
                    reserved(endpoint)
                else:
                    self.release(handed)
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise DeadlineExceeded("first_byte", "waiting for a free connection") from None
            raise
