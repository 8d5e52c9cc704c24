"""Whether a request fits a model's context window, judged before anything is sent upstream.

The prompt is estimated at one token per four bytes of the request body (the JSON framing makes
it an overestimate for plain text), plus the output the request asks for (``max_tokens`` and its
aliases): a provider refuses a request whose prompt and output do not fit together.
"""

from __future__ import annotations

import orjson

from switchgear.stages.request import Prepared

_OUTPUT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_BYTES_PER_TOKEN = 4


def estimated_tokens(request: Prepared) -> int:
    size = len(request.raw) if request.raw is not None else len(orjson.dumps(request.body))
    output = 0
    for name in _OUTPUT_FIELDS:
        value = request.body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            output = value
            break
    return size // _BYTES_PER_TOKEN + output
