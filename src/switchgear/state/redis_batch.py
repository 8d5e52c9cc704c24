"""Script calls coalesced into pipelines: one round trip for every call made in one loop turn.

Under load many requests admit (and settle) in the same turn of the event loop. Each call queues
its script and arguments and waits on a future; a callback scheduled once per turn sends every
queued call as one non-transactional pipeline of ``EVALSHA`` commands and hands each caller its own
reply. Each script still runs atomically on the server, in the order the calls were made; a batch
costs one pooled connection, one write and one read instead of one of each per call. A script the
server has forgotten (``NOSCRIPT``: it restarted or its cache was flushed) is loaded and its calls
are sent again, once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from switchgear.state.redis_scripts import Script

_Call = tuple[Script, list[str], list[str | int], "asyncio.Future[Any]"]


class ScriptBatcher:
    def __init__(self, client: Redis, timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.batches = 0
        self.calls = 0
        self._pending: list[_Call] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def call(self, script: Script, keys: list[str], args: list[str | int]) -> asyncio.Future[Any]:
        """The script's reply, once the batch it joined has been answered."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((script, keys, args, future))
        return future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[_Call]) -> None:
        self.batches += 1
        self.calls += len(batch)
        try:
            async with asyncio.timeout(self.timeout_s):
                replies = await self._send(batch)
                missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
                if missing:
                    for script in {id(batch[i][0]): batch[i][0] for i in missing}.values():
                        await script.load(self.client)
                    again = await self._send([batch[i] for i in missing])
                    for i, reply in zip(missing, again, strict=True):
                        replies[i] = reply
        except Exception as exc:  # every caller of the batch gets the failure (unreachable, timeout)
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (the backend is closing)
            for *_, future in batch:
                future.cancel()
            raise
        for (*_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # the caller gave up (its own timeout) or was cancelled
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _send(self, batch: list[_Call]) -> list[Any]:
        if len(batch) == 1:
            script, keys, args, _ = batch[0]
            try:
                return [await self.client.evalsha(script.sha, len(keys), *keys, *args)]
            except ResponseError as exc:  # the script's own error, or NOSCRIPT: that caller's reply
                return [exc]
        pipe = self.client.pipeline(transaction=False)
        for script, keys, args, _ in batch:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        async with pipe:
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
