"""Following a Redis pub/sub channel for as long as a task runs: subscribe, hand each message to a
callback, and when the connection is lost say so, wait (0.1 s, doubling up to 5 s) and subscribe
again. ``subscribed`` is set while subscribed. ``on_reconnect`` runs after each re-subscription
(not the first): messages may have been missed meanwhile. Used by the key change feed and the
shared deployment health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger("switchgear.state")


async def follow(
    client: Redis,
    channel: str,
    on_message: Callable[[Any], Awaitable[None]],
    subscribed: asyncio.Event,
    *,
    what: str,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
) -> None:
    pause, first = 0.1, True
    while True:
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                subscribed.set()
                if not first and on_reconnect is not None:
                    await on_reconnect()
                first, pause = False, 0.1
                async for message in pubsub.listen():
                    await on_message(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a task boundary: say so, wait, connect again
            subscribed.clear()
            log.warning("%s: lost Redis (%s); reconnecting in %.1f s", what, exc, pause)
            first = False
            await asyncio.sleep(pause)
            pause = min(5.0, pause * 2)
