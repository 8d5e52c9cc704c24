"""What the pipeline hands back to the server: a whole answer, or a stream to pump."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter_ns

from switchgear.core.errors import GatewayError, UpstreamError
from switchgear.core.redact import Redactor
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment, StreamRelay
from switchgear.transport.client import UpstreamResponse

Write = Callable[[bytes], Awaitable[None]]
log = logging.getLogger("switchgear.engine")


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    deployment: Deployment | None  # None: answered without an upstream (a stage's early answer)
    usage: Usage | None


class StreamAnswer:
    """A stream whose first events are in hand; ``pump`` relays the rest as it arrives.

    ``response`` is None for a stream made without an upstream (its bytes are all in ``first``).
    """

    __slots__ = (
        "_first",
        "_on_end",
        "_redactor",
        "_response",
        "deployment",
        "failure",
        "relay",
        "upstream_ns",
    )

    def __init__(
        self,
        deployment: Deployment | None,
        response: UpstreamResponse | None,
        relay: StreamRelay | None,
        first: bytes,
        on_end: Callable[[StreamAnswer], None],
        *,
        redactor: Redactor | None = None,
    ) -> None:
        self.deployment = deployment
        self.relay = relay
        self._response = response
        self._first = first
        self._on_end = on_end
        self._redactor = redactor or Redactor()
        self.upstream_ns = 0
        self.failure: BaseException | None = None  # how the stream ended, if not well

    async def pump(self, write: Write) -> None:
        """Send every event to ``write`` until the upstream ends; errors become in-band events."""
        response, relay = self._response, self.relay
        try:
            await write(self._first)
            if response is None or relay is None:
                return
            loop = asyncio.get_running_loop()
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
                if relay.failed is not None and out:  # an in-band error the provider sent: its text
                    out = self._redactor(out.decode("utf-8", "replace")).encode()  # may echo a secret
                if out:
                    await write(out)
                if relay.done:
                    break
        except UpstreamError as exc:
            self.failure = self._redactor.error(exc)
            await write(relay.error(exc))  # type: ignore[union-attr]
        except GatewayError as exc:  # a stream transform refused the rest of the answer
            self.failure = self._redactor.error(exc)
            await write(relay.error(exc))  # type: ignore[union-attr]
        except Exception as exc:  # a bug (in a stage?): end the stream well-formed, then report it
            self.failure = exc
            log.exception("stream relay failed")
            if relay is not None:
                await write(relay.error(GatewayError("internal error while relaying the stream")))
        except BaseException as exc:  # cancellation (client gone): close upstream, re-raise
            self.failure = exc
            raise
        finally:
            if response is not None:
                if self.failure is None:
                    response.release()
                else:
                    response.close()
            self._on_end(self)
