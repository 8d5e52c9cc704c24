"""What the pipeline hands back to the server: a whole answer, or a stream to pump."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter_ns

from switchgear.core.errors import UpstreamError
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment, StreamRelay
from switchgear.transport.client import UpstreamResponse

Write = Callable[[bytes], Awaitable[None]]


@dataclass(slots=True)
class Settlement:
    """The record of one finished request, handed to the settle hooks (spend, logs, metrics)."""

    request_id: str
    api: str
    model: str
    deployment: Deployment | None
    status: int
    stream: bool
    usage: Usage | None
    attempts: int
    overhead_ms: float
    duration_ms: float
    error: str | None = None
    cancelled: bool = False


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    deployment: Deployment
    usage: Usage


class StreamAnswer:
    """An upstream stream whose first events are in hand; ``pump`` relays the rest as it arrives."""

    __slots__ = ("_first", "_on_end", "_response", "deployment", "relay", "upstream_ns")

    def __init__(
        self,
        deployment: Deployment,
        response: UpstreamResponse,
        relay: StreamRelay,
        first: bytes,
        on_end: Callable[[StreamAnswer, BaseException | None], None],
    ) -> None:
        self.deployment = deployment
        self.relay = relay
        self._response = response
        self._first = first
        self._on_end = on_end
        self.upstream_ns = 0

    async def pump(self, write: Write) -> None:
        """Send every event to ``write`` until the upstream ends; errors become in-band events."""
        response, relay = self._response, self.relay
        loop = asyncio.get_running_loop()
        failure: BaseException | None = None
        try:
            await write(self._first)
            while True:
                started = perf_counter_ns()
                data = await response.chunk(loop)
                self.upstream_ns += perf_counter_ns() - started
                if not data:
                    tail = relay.finish()
                    if tail:
                        await write(tail)
                    break
                out = relay.feed(data)
                if out:
                    await write(out)
                if relay.done:
                    break
        except UpstreamError as exc:
            failure = exc
            await write(relay.error(exc))
        except BaseException as exc:  # cancellation (client gone) or a bug: close upstream, re-raise
            failure = exc
            raise
        finally:
            if failure is None:
                response.release()
            else:
                response.close()
            self._on_end(self, failure)
