"""Micro-time the guardrail stages' hooks on a typical chat request (no gateway, no network).

Usage (from the repository root)::

    PYTHONPATH=src python tools/time_guardrails.py          # texts new each time (cold)
    PYTHONPATH=src python tools/time_guardrails.py --warm   # the prompt's texts seen clean before
                                                            # (a system prompt, earlier turns)

One ``pii`` policy (every type) on input and output: the admit hook on a system prompt and a user
question (~210 characters), then the answer transform on a ~610-character answer. Prints the p50
and p90 of the two hooks together, in microseconds. The gateway benchmark (docs/benchmarks.md)
measures the same end to end.
"""

from __future__ import annotations

import asyncio
import random
import string
import sys
import time

from switchgear.config.guardrails import GuardrailSettings
from switchgear.core.types import ChatRequest, ChatResponse, Choice, Message, TextPart
from switchgear.core.usage import Usage
from switchgear.guardrails.checks import PiiGuard
from switchgear.guardrails.stage import InputGuardrails, OutputGuardrails, Policies
from switchgear.providers.base import Endpoint
from switchgear.stages.context import RequestContext
from switchgear.stages.request import Prepared

SYSTEM = "You are a helpful assistant. Answer concisely and cite sources when you can."
USER = (
    "Can you explain how a hash map handles collisions, and when I should prefer a tree map "
    "instead? Give a short example in Python."
)
ANSWER = (
    "A hash map stores entries in buckets chosen by the key's hash. When two keys land in the same "
    "bucket, it either chains them in a list or probes for another slot. Python's dict uses open "
    "addressing. Prefer a tree map when you need keys in sorted order or range queries; lookups are "
    "O(log n) instead of O(1). "
) * 2


async def main(warm: bool) -> None:
    policies = Policies([GuardrailSettings(name="pii", kind="pii")])
    admit, transform = InputGuardrails(policies), OutputGuardrails(policies)
    guard = policies.guards[0]
    assert isinstance(guard, PiiGuard)
    endpoint: Endpoint = "chat"

    async def once() -> int:
        ctx = RequestContext(request_id="r", api="chat")
        ctx.request = Prepared(
            api=endpoint, body={}, model="m", stream=False, wants_usage=False, fallbacks=[]
        )
        ctx.canonical = ChatRequest(
            model="m",
            messages=[
                Message(role="system", content=[TextPart(SYSTEM)]),
                Message(role="user", content=[TextPart(USER)]),
            ],
        )
        # every answer is new (a word of random letters): only the prompt can have been seen before
        fresh = "".join(random.choices(string.ascii_lowercase, k=8))
        answer = Message(role="assistant", content=[TextPart(f"{ANSWER}Ask again: {fresh}.")])
        response = ChatResponse(
            id="x", model="m", created=0, choices=[Choice(0, answer, "stop")], usage=Usage(1, 1)
        )
        began = time.perf_counter_ns()
        await admit.admit(ctx)
        await transform.answer_transform(ctx, response)
        took = time.perf_counter_ns() - began
        if not warm:
            guard.detector._clean.clear()
        return took

    for _ in range(2000):
        await once()
    samples = sorted([await once() for _ in range(20000)])
    p50, p90 = samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.9)] / 1000
    print(f"{'warm' if warm else 'cold'}: p50 {p50:.1f} us, p90 {p90:.1f} us (input + output hooks)")


if __name__ == "__main__":
    asyncio.run(main("--warm" in sys.argv))
