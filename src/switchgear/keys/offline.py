"""The change feed of a process that serves no requests (the ``switchgear keys`` command).

Such a process has no key directory of its own to update. With ``storage.redis_url`` set it
publishes each change on the gateways' change channel, so running gateways apply it at once;
without Redis (or when Redis cannot be reached) they see it at their next refresh
(``governance.refresh_interval``).
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from redis.asyncio import Redis

from switchgear.config import Settings
from switchgear.keys.changes import Change
from switchgear.keys.feed import CHANNEL

log = logging.getLogger("switchgear.keys")
_TIMEOUT_S = 2.0


class OfflineFeed:
    """Keeps what was published (the command reports it) and, given a Redis client, tells every
    gateway listening on the change channel."""

    def __init__(self, client: Redis | None = None, channel: str = CHANNEL) -> None:
        self.published: list[Change] = []
        self.client = client
        self.channel = channel
        self.delivered = 0  # changes Redis accepted for the gateways

    async def publish(self, change: Change) -> None:
        self.published.append(change)
        if self.client is None:
            return
        message = orjson.dumps({"origin": "cli", "kind": change.kind, "id": change.id})
        try:
            async with asyncio.timeout(_TIMEOUT_S):
                await self.client.publish(self.channel, message)
            self.delivered += 1
        except Exception as exc:  # the gateways' periodic refresh picks the change up
            log.warning(
                "could not tell running gateways of the %s change (%s): they see it at their next refresh",
                change.kind,
                exc,
            )

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def cli_feed(settings: Settings) -> OfflineFeed:
    """The feed for a command-line change: over Redis when ``storage.redis_url`` is set."""
    url = settings.storage.redis_url
    if url is None:
        return OfflineFeed()
    client = Redis.from_url(url.get_secret_value(), socket_connect_timeout=_TIMEOUT_S)
    return OfflineFeed(client)
