"""The streams being relayed right now, so that a drain can end them with an in-band error.

A handler relays a stream through ``OpenStreams.pump`` instead of ``StreamAnswer.pump``. When the
drain deadline passes, ``end_all`` interrupts every open stream; each one then writes its client
format's error event (an OpenAI ``data: {"error": ...}``, an Anthropic ``event: error`` ...) and
ends normally, so no client sees a stream cut mid-event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from switchgear.core.errors import ShuttingDown
from switchgear.engine.answers import StreamAnswer, Write

T = TypeVar("T")
_MESSAGE = "the gateway is shutting down and could not finish this answer in time; retry the request"


class OpenStreams:
    __slots__ = ("_ending", "_open")

    def __init__(self) -> None:
        self._open: dict[asyncio.Task[Any], StreamAnswer | None] = {}  # None: committed, not begun
        self._ending: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._open)

    async def pump(self, answer: StreamAnswer, write: Write) -> None:
        """Relay ``answer`` to ``write``; if the drain ends it, finish with an error event."""
        task = asyncio.current_task()
        if task is None:  # not inside a task: nothing could end it anyway
            await answer.pump(write)
            return
        self._open[task] = answer
        try:
            await answer.pump(write)
        except asyncio.CancelledError:
            if task not in self._ending:
                raise
            task.uncancel()
            if answer.relay is not None:  # else the whole answer was in hand and is written
                await write(answer.relay.error(ShuttingDown(_MESSAGE)))
        finally:
            del self._open[task]
            self._ending.discard(task)

    async def wait(self, answer: Awaitable[T]) -> T:
        """Await the answer of a stream whose status keep-alive comments already committed; if
        the drain ends it meanwhile, raise ShuttingDown (the handler writes it in-band)."""
        task = asyncio.current_task()
        if task is None:
            return await answer
        self._open[task] = None
        try:
            return await answer
        except asyncio.CancelledError:
            if task not in self._ending:
                raise
            task.uncancel()
            raise ShuttingDown(_MESSAGE) from None
        finally:
            del self._open[task]
            self._ending.discard(task)

    def end_all(self) -> set[asyncio.Task[Any]]:
        """Interrupt every open stream (each ends with its error event); their tasks."""
        for task in self._open:
            if task not in self._ending:
                self._ending.add(task)
                task.cancel()
        return set(self._open)
