"""A stage that counts requests per model and says so in a response header.

Load it with ``stages: ["request_counter:RequestCounter"]`` in the configuration, with this folder
on ``PYTHONPATH`` (or install it in any package of your own).
"""

from collections import Counter
from collections.abc import Sequence

from switchgear.stages import RequestContext, RequestRecord, Stage


class RequestCounter(Stage):
    name = "request_counter"

    def __init__(self) -> None:
        self.admitted: Counter[str] = Counter()  # per requested model, counted on the request path
        self.finished: Counter[int] = Counter()  # per final status, counted off the request path

    async def admit(self, ctx: RequestContext) -> None:
        self.admitted[ctx.model] += 1
        ctx.add_header("x-request-count", str(self.admitted[ctx.model]))

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        for record in records:
            self.finished[record.status] += 1
