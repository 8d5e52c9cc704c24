"""What a request cost, in integer nano-USD, from its usage and the deployment's catalog prices.

Prompt tokens include cached and cache-write tokens (OpenAI semantics): those are priced at the
cache-read and cache-write prices where the catalog has them, else at the input price. Reasoning
tokens are part of the completion tokens. Unknown input or output prices make the cost unknown
(None), never zero.
"""

from __future__ import annotations

from switchgear.catalog.catalog import Prices
from switchgear.catalog.catalog import cost_nanousd as tokens_cost
from switchgear.core.usage import Usage


def usage_cost_nanousd(usage: Usage, prices: Prices) -> int | None:
    if prices.input is None or prices.output is None:
        return None
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    written = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
    fresh = usage.prompt_tokens - cached - written
    read_price = prices.cache_read if prices.cache_read is not None else prices.input
    write_price = prices.cache_write if prices.cache_write is not None else prices.input
    return (
        tokens_cost(fresh, prices.input)
        + tokens_cost(cached, read_price)
        + tokens_cost(written, write_price)
        + tokens_cost(usage.completion_tokens, prices.output)
    )
