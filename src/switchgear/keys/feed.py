"""Change feeds: how a change made by the admin API or the CLI reaches every key directory.

``LocalFeed`` applies a change to this process's directory (one process, no Redis). ``RedisFeed``
applies it here at once and publishes it on a Redis pub/sub channel; every other process's
subscriber applies it when it arrives (in well under a second). A subscriber that lost its
connection reconnects with a growing pause (up to 5 s) and reloads its whole directory, since it may
have missed changes meanwhile; the periodic refresh covers anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import orjson
from redis.asyncio import Redis

from switchgear.keys.changes import Change, ChangeKind
from switchgear.keys.directory import KeyDirectory
from switchgear.state.pubsub import follow

log = logging.getLogger("switchgear.keys")
CHANNEL = "sg:changes"
_KINDS: frozenset[str] = frozenset(("key", "user", "team", "org", "end_user", "global"))
_TIMEOUT_S = 1.0


class LocalFeed:
    """One process: a change is applied here, now."""

    def __init__(self, directory: KeyDirectory) -> None:
        self.directory = directory

    async def publish(self, change: Change) -> None:
        await self.directory.apply(change)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisFeed:
    """Many processes: apply here, publish to the others, apply what the others publish."""

    def __init__(self, directory: KeyDirectory, client: Redis, channel: str = CHANNEL) -> None:
        self.directory = directory
        self.client = client
        self.channel = channel
        self.origin = secrets.token_hex(8)  # this process: its own messages are not applied twice
        self.received = 0
        self.publish_failures = 0
        self.reconnects = 0
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, directory: KeyDirectory, url: str, channel: str = CHANNEL) -> RedisFeed:
        client = Redis.from_url(url, socket_connect_timeout=_TIMEOUT_S, health_check_interval=10)
        return cls(directory, client, channel)

    async def publish(self, change: Change) -> None:
        await self.directory.apply(change)
        message = orjson.dumps({"origin": self.origin, "kind": change.kind, "id": change.id})
        try:
            async with asyncio.timeout(_TIMEOUT_S):
                await self.client.publish(self.channel, message)
        except Exception as exc:  # peers catch up at their next refresh
            self.publish_failures += 1
            log.warning("could not publish a %s change to other gateways: %s", change.kind, exc)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen(), name="key-change-feed")
            with contextlib.suppress(TimeoutError):  # not yet: the loop keeps trying
                async with asyncio.timeout(2 * _TIMEOUT_S):
                    await self.subscribed.wait()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()

    async def _listen(self) -> None:
        await follow(
            self.client,
            self.channel,
            self._received,
            self.subscribed,
            what="key change feed",
            on_reconnect=self._reconnected,
        )

    async def _reconnected(self) -> None:
        self.reconnects += 1
        await self.directory.load()  # changes may have been missed meanwhile

    async def _received(self, message: Any) -> None:
        if message.get("type") != "message":
            return
        try:
            change = orjson.loads(message["data"])
            kind, id_ = change["kind"], change["id"]
            if change.get("origin") == self.origin:
                return
            if kind not in _KINDS or not isinstance(id_, str):
                raise ValueError(f"unknown change {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("key change feed: ignored a malformed message (%s)", exc)
            return
        self.received += 1
        checked: ChangeKind = kind
        try:
            await self.directory.apply(Change(checked, id_))
        except Exception as exc:  # the database hiccuped: the periodic refresh repairs it
            log.warning("key change feed: could not apply a %s change: %s", kind, exc)
