"""Deployment health shared by every worker and replica through Redis pub/sub.

When a worker's breaker for a deployment opens, or a deployment tells it to back off (a 429 or a
``routing.cooldown_on`` status with ``Retry-After``), the worker publishes it — the deployment's
``provider/model`` and for how many seconds — on ``sg:health``. Every other worker applies it to
its own health of that deployment (it opens the breaker, or cools the deployment down, for the
time left), so one replica's discovery spares the others the failing calls. Only the fact travels,
never a count: each worker still probes an open breaker itself when the time is up, and a lost
message costs only what a worker without sharing would have paid.

The request path only appends to a bounded buffer (synchronously, at the attempt outcome); a
background task publishes it. A subscriber that lost Redis reconnects (``state.pubsub.follow``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING, Any, Literal

import orjson
from redis.asyncio import Redis

from switchgear.state.pubsub import follow

if TYPE_CHECKING:
    from switchgear.routing.router import Router

log = logging.getLogger("switchgear.routing")
CHANNEL = "sg:health"
_TIMEOUT_S = 1.0
_BUFFER = 1024
_MAX_SECONDS = 3600.0

Event = Literal["open", "cool"]


class HealthFeed:
    def __init__(self, router: Router, client: Redis, channel: str = CHANNEL) -> None:
        self.router = router
        self.client = client
        self.channel = channel
        self.origin = secrets.token_hex(8)  # this worker: its own messages are not applied again
        self.sent = 0
        self.received = 0
        self.publish_failures = 0
        self.subscribed = asyncio.Event()
        self._out: deque[bytes] = deque(maxlen=_BUFFER)  # the oldest go first when Redis lags
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_url(cls, router: Router, url: str) -> HealthFeed:
        return cls(router, Redis.from_url(url, socket_connect_timeout=_TIMEOUT_S, health_check_interval=10))

    # the request path -------------------------------------------------------------------------
    def tell(self, label: str, event: Event, seconds: float) -> None:
        """Another worker should know: ``label``'s breaker opened / it cools down for ``seconds``."""
        self._out.append(
            orjson.dumps({"origin": self.origin, "deployment": label, "event": event, "seconds": seconds})
        )
        self._wake.set()

    # background -------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name="health-feed-listen"),
            loop.create_task(self._send(), name="health-feed-send"),
        ]
        with contextlib.suppress(TimeoutError):  # not yet: the loop keeps trying
            async with asyncio.timeout(2 * _TIMEOUT_S):
                await self.subscribed.wait()

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()

    async def _send(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._out:
                message = self._out.popleft()
                try:
                    async with asyncio.timeout(_TIMEOUT_S):
                        await self.client.publish(self.channel, message)
                    self.sent += 1
                except Exception as exc:  # the others learn on their own, as without sharing
                    self.publish_failures += 1
                    log.warning("health feed: could not tell other gateways (%s)", exc)

    async def _listen(self) -> None:
        await follow(self.client, self.channel, self._received, self.subscribed, what="health feed")

    async def _received(self, message: Any) -> None:
        self.received += self.apply(message)

    def apply(self, message: Any) -> int:
        """Apply another worker's message to this worker's health; 1 if applied, else 0."""
        if message.get("type") != "message":
            return 0
        try:
            fact = orjson.loads(message["data"])
            label, event, seconds = fact["deployment"], fact["event"], float(fact["seconds"])
            if fact.get("origin") == self.origin:
                return 0
            if event not in ("open", "cool") or not isinstance(label, str):
                raise ValueError(f"unknown event {event!r}")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("health feed: ignored a malformed message (%s)", exc)
            return 0
        health = self.router.health.get(label)  # only deployments this worker knows
        if health is None or not 0 < seconds <= _MAX_SECONDS:
            return 0
        now = monotonic()
        if event == "open":
            health.opened_elsewhere(now, seconds)
        else:
            health.rate_limited(now, seconds)
        return 1
