"""A request's worst case, before it is sent: the tokens it may use and what they may cost.

- **Prompt tokens**: the size of the request body in bytes. Every token of the byte-level BPE
  tokenizers the major providers use stands for at least one byte of text, and the body holds the
  prompt plus its JSON framing, so one token per byte is an upper bound for text prompts. (Images
  sent by URL and audio are counted by the bytes of their reference only: the documented limit.)
- **Output tokens**: ``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens`` when the
  request sets one, else ``governance.default_max_tokens``; times ``n`` choices. Embeddings have none.
- **Hedged models** (``hedge`` in the model's configuration) reserve twice that: both attempts of a
  hedge may be billed (BAD-INPUTS F12).
- **Prices**: the highest input and output prices among the deployments that may serve the model
  (its fallback models' too): whichever one answers, the reservation covers it. A model without a
  catalog price reserves no money, but its tokens still count against token limits.

Cost = ceil((prompt x input price + output x output price) / 10^6) micro-USD (prices are micro-USD
per million tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from switchgear.core.errors import GatewayError
from switchgear.providers.base import Deployment
from switchgear.stages.request import Prepared

Resolve = Callable[[str], Sequence[Deployment]]
_OUTPUT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_CACHE = 4096


class Estimator:
    def __init__(
        self, resolve: Resolve, default_max_tokens: int, hedged: frozenset[str] = frozenset()
    ) -> None:
        self._resolve = resolve
        self.default_max_tokens = default_max_tokens
        self._hedged = hedged  # models whose requests may make two attempts: twice the worst case
        self._prices: dict[str, tuple[int, int]] = {}

    def prices(self, model: str) -> tuple[int, int]:
        """The highest (input, output) prices, micro-USD per million tokens, of ``model``'s deployments."""
        found = self._prices.get(model)
        if found is None:
            try:
                deployments = self._resolve(model)
            except GatewayError:
                deployments = ()
            infos = [d.info.prices for d in deployments if d.info is not None]
            found = (
                max((p.input or 0 for p in infos), default=0),
                max((p.output or 0 for p in infos), default=0),
            )
            if len(self._prices) < _CACHE:
                self._prices[model] = found
        return found

    def worst_case(self, request: Prepared) -> tuple[int, int]:
        """(micro-USD, tokens) at most, for this request."""
        raw = request.raw
        prompt = len(raw) if raw is not None else len(orjson.dumps(request.body))
        output = 0 if request.api == "embeddings" else self.output_tokens(request)
        in_price, out_price = self.prices(request.model)
        for extra in request.fallbacks:
            more_in, more_out = self.prices(extra)
            in_price, out_price = max(in_price, more_in), max(out_price, more_out)
        scaled = prompt * in_price + output * out_price  # tokens x micro-USD per million tokens
        cost, tokens = -(-scaled // 1_000_000), prompt + output
        if request.model in self._hedged:
            return 2 * cost, 2 * tokens
        return cost, tokens

    def output_tokens(self, request: Prepared) -> int:
        body = request.body
        cap = self.default_max_tokens
        for name in _OUTPUT_FIELDS:
            value = body.get(name)
            if type(value) is int and value > 0:
                cap = value
                break
        choices = body.get("n")
        if type(choices) is int and choices > 1:
            cap *= choices
        return cap
