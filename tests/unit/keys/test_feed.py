"""Change feeds: at once in this process, through a real Redis to another directory."""

from __future__ import annotations

import asyncio
import time
import uuid

from switchgear.config.model import GovernanceSettings
from switchgear.keys.changes import Change
from switchgear.keys.directory import KeyDirectory
from switchgear.keys.feed import LocalFeed, RedisFeed
from switchgear.keys.material import digest, display_prefix, new_key
from switchgear.storage import Database
from switchgear.storage.keys import create_key, revoke_key
from switchgear.storage.rows import utcnow


async def a_key(db: Database) -> tuple[bytes, str]:
    key = new_key()
    made = await create_key(db, key_hash=digest(key), key_prefix=display_prefix(key))
    return bytes.fromhex(made.key_hash), made.id


async def test_local_feed_applies_now(db: Database) -> None:
    directory = KeyDirectory(db, GovernanceSettings())
    await directory.load()
    feed = LocalFeed(directory)
    found, key_id = await a_key(db)
    await feed.publish(Change("key", key_id))
    assert directory.lookup(found) is not None


async def test_redis_feed_reaches_the_other_directory_within_a_second(db: Database, redis_url: str) -> None:
    channel = f"sgtest:changes:{uuid.uuid4().hex}"
    here, there = KeyDirectory(db, GovernanceSettings()), KeyDirectory(db, GovernanceSettings())
    await here.load()
    await there.load()
    sender, receiver = (
        RedisFeed.from_url(here, redis_url, channel),
        RedisFeed.from_url(there, redis_url, channel),
    )
    await sender.start()
    await receiver.start()
    try:
        assert receiver.subscribed.is_set()
        found, key_id = await a_key(db)
        started = time.monotonic()
        await sender.publish(Change("key", key_id))
        assert here.lookup(found) is not None  # at once, here
        while there.lookup(found) is None:
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.01)
        await revoke_key(db, key_id)
        await sender.publish(Change("key", key_id))
        deadline = time.monotonic() + 1.0
        while True:
            entry = there.lookup(found)
            if entry is not None and entry.revoked_at is not None:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert entry.revoked_at <= utcnow().timestamp()
        assert sender.received == 0  # its own messages are not applied twice
        assert receiver.received == 2
    finally:
        await sender.close()
        await receiver.close()


async def test_malformed_messages_are_ignored(db: Database, redis_url: str) -> None:
    channel = f"sgtest:changes:{uuid.uuid4().hex}"
    directory = KeyDirectory(db, GovernanceSettings())
    await directory.load()
    feed = RedisFeed.from_url(directory, redis_url, channel)
    await feed.start()
    try:
        for junk in (b"not json", b'{"kind": "table", "id": "x"}', b'{"id": 1}'):
            await feed.client.publish(channel, junk)
        found, key_id = await a_key(db)
        await feed.client.publish(
            channel, b'{"origin": "elsewhere", "kind": "key", "id": "%s"}' % key_id.encode()
        )
        deadline = time.monotonic() + 1.0
        while directory.lookup(found) is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert feed.received == 1
    finally:
        await feed.close()
