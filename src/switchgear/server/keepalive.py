"""SSE keep-alive comments while a slow model has not produced its first event.

Off unless ``stream_keepalive`` is set (gateway-wide or per model). The first comment commits the
response (status 200 and its headers go out), so once one has been sent a failure — including one
that would otherwise have failed over before the first byte — reaches the client as an in-band
error event in its own format, not as an HTTP error status. Fail-over between deployments still
happens while the comments flow; only the status is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
COMMENT = b": keep-alive\n\n"


async def kept_alive(
    work: Awaitable[T],
    interval: float,
    commit: Callable[[], Awaitable[None]],
    write: Callable[[bytes], Awaitable[None]],
) -> T:
    """Await ``work``; every ``interval`` seconds until it is done, commit the response (once) and
    write a keep-alive comment. Cancelling this cancels ``work``."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait((task,), timeout=interval)
            if done:
                return task.result()
            await commit()
            await write(COMMENT)
    finally:
        if not task.done():
            task.cancel()
