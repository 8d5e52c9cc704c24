"""The Lua scripts of the Redis backend: read from ``lua/``, loaded once, run by SHA.

Each script is ``common.lua`` (the server clock, budget periods, shared undo steps) followed by its
own file. ``load`` sends every script with ``SCRIPT LOAD`` at start-up; a call runs ``EVALSHA`` and,
when the server answers ``NOSCRIPT`` (it restarted or its script cache was flushed), loads the
script again and retries once.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

_LUA = files("switchgear.state") / "lua"


def lua_source(name: str) -> str:
    return (_LUA / f"{name}.lua").read_text(encoding="utf-8")


class Script:
    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = lua_source("common") + "\n" + lua_source(name)
        self.sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()

    async def load(self, client: Redis) -> None:
        sha = await client.script_load(self.source)
        if sha != self.sha:  # pragma: no cover - the server hashes what it was sent
            raise RuntimeError(f"Redis answered SHA {sha} for the {self.name} script, expected {self.sha}")

    async def __call__(self, client: Redis, keys: list[str], args: list[str | int]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.load(client)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


class Scripts:
    """The scripts one backend runs."""

    def __init__(self) -> None:
        self.admit = Script("admit")
        self.settle = Script("settle")
        self.reap = Script("reap")
        self.read = Script("read")
        self.seed = Script("seed")

    async def load(self, client: Redis) -> None:
        for script in (self.admit, self.settle, self.reap, self.read, self.seed):
            await script.load(client)
