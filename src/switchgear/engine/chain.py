"""The configured stages composed once, at start-up, into one tuple of bound hooks per point.

The request path reads these tuples and nothing else: a point no stage implements costs one
falsy check, and no stage is looked up per request. The order of the stages given is the order
of their hooks at every point (``engine.build`` fixes and documents it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from switchgear.config.model import SettleSettings
from switchgear.core.types import ChatResponse
from switchgear.providers.base import Deployment, StreamRelay
from switchgear.stages.base import EarlyAnswer, Stage, StreamTransform, overrides
from switchgear.stages.context import Attempt, RequestContext
from switchgear.stages.settle import SettleQueue, SettleStats

Admit = Callable[[RequestContext], Awaitable[None]]
Early = Callable[[RequestContext], Awaitable[EarlyAnswer | None]]
Plan = Callable[[RequestContext, list[Deployment]], Awaitable[list[Deployment]]]
Outcome = Callable[[RequestContext, Attempt], None]
Transform = Callable[[RequestContext], StreamTransform | None]
AnswerTransform = Callable[[RequestContext, ChatResponse], Awaitable[ChatResponse]]
WrapRelay = Callable[[RequestContext, StreamRelay], StreamRelay]
BodyTransform = Callable[[RequestContext, bytes], Awaitable[bytes]]


class StageChain:
    def __init__(self, stages: Sequence[Stage], settle: SettleSettings | None = None) -> None:
        settle = settle or SettleSettings()
        self.stages = tuple(stages)

        def hooks(name: str) -> list[Stage]:
            return [s for s in self.stages if overrides(s, name)]

        self.admit: tuple[Admit, ...] = tuple(s.admit for s in hooks("admit"))
        self.early: tuple[Early, ...] = tuple(s.answer_early for s in hooks("answer_early"))
        self.plan: tuple[Plan, ...] = tuple(s.plan for s in hooks("plan"))
        self.outcome: tuple[Outcome, ...] = tuple(s.attempt_outcome for s in hooks("attempt_outcome"))
        self.stream: tuple[Transform, ...] = tuple(s.stream_transform for s in hooks("stream_transform"))
        self.answer: tuple[AnswerTransform, ...] = tuple(
            s.answer_transform for s in hooks("answer_transform")
        )
        self.wrap: tuple[WrapRelay, ...] = tuple(s.wrap_relay for s in hooks("wrap_relay"))
        self.body: tuple[BodyTransform, ...] = tuple(s.body_transform for s in hooks("body_transform"))
        self.queues = tuple(
            SettleQueue(
                s,
                size=settle.queue_size,
                overflow=settle.overflow,
                batch=settle.batch_size,
                linger=settle.linger,
            )
            for s in hooks("settle")
        )
        self.reads_request = any(s.reads_request for s in self.stages)
        self.reads_answer = any(s.reads_answer for s in self.stages) or bool(self.stream or self.answer)

    def transforms(self, ctx: RequestContext) -> list[StreamTransform]:
        """This request's stream transforms, in stage order."""
        made = (make(ctx) for make in self.stream)
        return [t for t in made if t is not None]

    def settle(self, ctx: RequestContext) -> None:
        """Hand the finished request's record to every settle consumer (never blocks)."""
        for queue in self.queues:
            queue.put(ctx)

    async def start(self) -> None:
        for stage in self.stages:
            await stage.start()
        for queue in self.queues:
            queue.start()

    async def close(self) -> None:
        for queue in self.queues:
            await queue.close()
        for stage in self.stages:
            await stage.close()

    def stats(self) -> list[SettleStats]:
        return [queue.stats() for queue in self.queues]
