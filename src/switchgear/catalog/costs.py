"""What a request cost, in integer nano-USD, from its usage and the deployment's catalog prices.

Prompt tokens include cached and cache-write tokens (OpenAI semantics): those are priced at the
cache-read and cache-write prices where the catalog has them, else at the input price. Reasoning
tokens are part of the completion tokens: priced at the reasoning price where the catalog has one,
else at the output price. Unknown input or output prices make the cost unknown (None), never zero.
The parts are summed exactly (tokens x micro-USD per million tokens = pico-USD) and the sum is
rounded once, upward, to nano-USD: a request never costs less than its exact price.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from switchgear.catalog.catalog import Prices
from switchgear.core.usage import Usage

# A request's usage -> its cost in nano-USD (None: unpriced).
Pricer = Callable[[Usage], int | None]


def usage_cost_nanousd(usage: Usage, prices: Prices) -> int | None:
    if prices.input is None or prices.output is None:
        return None
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
    fresh = usage.prompt_tokens - cached - written
    read_price = prices.cache_read if prices.cache_read is not None else prices.input
    write_price = prices.cache_write if prices.cache_write is not None else prices.input
    reasoning_price = prices.reasoning_output
    reasoning = 0 if reasoning_price is None else min(usage.reasoning_tokens, usage.completion_tokens)
    pico = (
        fresh * prices.input
        + cached * read_price
        + written * write_price
        + (usage.completion_tokens - reasoning) * prices.output
    )
    if reasoning_price is not None:
        pico += reasoning * reasoning_price
    return -(-pico // 1000)


def pricer(prices: Prices | None) -> Pricer | None:
    """The pricer of a deployment's prices; None when it has no input or output price (unpriced)."""
    if prices is None or prices.input is None or prices.output is None:
        return None
    return partial(_priced, prices=prices)


def fixed(nanousd: int) -> Pricer:
    """A pricer that says ``nanousd`` whatever the usage (an early or cached answer)."""
    return partial(_fixed, nanousd=nanousd)


def _priced(usage: Usage, *, prices: Prices) -> int | None:
    return usage_cost_nanousd(usage, prices)


def _fixed(usage: Usage, *, nanousd: int) -> int:
    return nanousd
