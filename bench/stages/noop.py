"""No-op stages for the stage-overhead benchmark: one at each point, and a settle consumer that
only counts. Loaded by bench/switchgear-stages.yaml (``stages:``) with bench/stages on PYTHONPATH."""

from collections.abc import Sequence

from switchgear.providers.base import Deployment, StreamRelay
from switchgear.stages import EarlyAnswer, RequestContext, RequestRecord, Stage
from switchgear.stages.context import Attempt


class Admit(Stage):
    name = "noop_admit"

    async def admit(self, ctx: RequestContext) -> None:
        return None


class Early(Stage):
    name = "noop_early"

    async def answer_early(self, ctx: RequestContext) -> EarlyAnswer | None:
        return None


class Plan(Stage):
    name = "noop_plan"

    async def plan(self, ctx: RequestContext, candidates: list[Deployment]) -> list[Deployment]:
        return candidates


class Outcome(Stage):
    name = "noop_outcome"

    def attempt_outcome(self, ctx: RequestContext, attempt: Attempt) -> None:
        return None


class Transform(Stage):
    name = "noop_transform"

    def wrap_relay(self, ctx: RequestContext, relay: StreamRelay) -> StreamRelay:
        return relay

    async def body_transform(self, ctx: RequestContext, body: bytes) -> bytes:
        return body


class Count(Stage):
    name = "count"

    def __init__(self) -> None:
        self.count = 0

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        self.count += len(records)
