"""Pricing a request's usage: input, cache reads and writes, output and reasoning, in nano-USD."""

from __future__ import annotations

from switchgear.catalog import Catalog, Prices
from switchgear.catalog.costs import fixed, pricer, usage_cost_nanousd
from switchgear.core.usage import Usage

# $3 in, $15 out, $0.30 cache read, $3.75 cache write, $20 reasoning per million tokens.
PRICES = Prices(input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000)


def test_prompt_parts_are_priced_at_their_own_prices() -> None:
    usage = Usage(prompt_tokens=1534, completion_tokens=567, cached_tokens=200, cache_write_tokens=100)
    # 1234 x 3 + 200 x 0.30 + 100 x 3.75 + 567 x 15 = 12642 micro-USD
    assert usage_cost_nanousd(usage, PRICES) == 12_642_000


def test_reasoning_tokens_are_priced_at_the_reasoning_price_when_there_is_one() -> None:
    usage = Usage(prompt_tokens=100, completion_tokens=1000, reasoning_tokens=600)
    assert usage_cost_nanousd(usage, PRICES) == 300_000 + 15_000_000  # all output at the output price
    priced = Prices(input=3_000_000, output=15_000_000, reasoning_output=20_000_000)
    assert usage_cost_nanousd(usage, priced) == 300_000 + 400 * 15_000 + 600 * 20_000


def test_unknown_input_or_output_price_is_unpriced_not_free() -> None:
    assert usage_cost_nanousd(Usage(1, 1), Prices(input=1)) is None
    assert pricer(Prices(output=1)) is None and pricer(None) is None
    price = pricer(Prices(input=0, output=0))
    assert price is not None and price(Usage(10**6, 10**6)) == 0  # free is a price


def test_pricers() -> None:
    price = pricer(PRICES)
    assert price is not None and price(Usage(1000, 0)) == 3_000_000
    assert fixed(0)(Usage(10**6, 10**6)) == 0


def test_the_bundled_catalog_has_reasoning_prices() -> None:
    entry = Catalog.bundled().lookup("gemini", "gemini-2.5-flash")
    assert entry is not None
    assert entry.prices.reasoning_output == 2_500_000 and entry.reasoning  # a price and the flag, apart
    assert Catalog.bundled().lookup("openai", "gpt-4o-mini").prices.reasoning_output is None  # type: ignore[union-attr]


def test_the_exact_sum_is_rounded_once_upward() -> None:
    half = Prices(input=500, output=500)  # half a nano-USD per token
    assert usage_cost_nanousd(Usage(1, 1), half) == 1  # 0.5 + 0.5, not 1 + 1 (half up per part)
    assert usage_cost_nanousd(Usage(1, 0), Prices(input=1, output=1)) == 1  # 0.001 nano-USD: never 0
    assert usage_cost_nanousd(Usage(0, 0), PRICES) == 0
