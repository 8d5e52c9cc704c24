"""Money at the admin edge: USD decimals in the API, integer micro-USD (limits) and nano-USD
(spend) in storage.

A USD amount arrives as a JSON number or a decimal string. It is taken only when it converts to
whole micro-USD exactly: no more than six decimal places, not negative, finite, and (for a JSON
number, which the JSON parser has already made a binary float) small enough that the float still
holds every micro-USD exactly. Anything else is refused with a message saying what to send.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

MICRO = 1_000_000
NANO = 1_000_000_000
MAX_USD = Decimal(10**12)  # a trillion dollars: far above any budget, far below 2**63 micro-USD
_FLOAT_EXACT = 2**53 / MICRO  # below this a float's micro-USD digits are all exact


def parse_usd(value: Any) -> Decimal:
    """The amount as a Decimal of whole micro-USD, or ``ValueError`` saying why it is refused."""
    if isinstance(value, bool):
        raise ValueError("expected an amount in USD (a number such as 12.5), not true/false")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("an amount in USD must be a finite number")
        if abs(value) >= _FLOAT_EXACT:
            raise ValueError("this amount is too large for an exact JSON number: send it as a string")
        amount = Decimal(repr(value))
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not an amount in USD: {value[:40]!r}") from None
        if not amount.is_finite():
            raise ValueError("an amount in USD must be a finite number")
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise ValueError("expected an amount in USD (a number such as 12.5)")
    if amount < 0:
        raise ValueError("an amount in USD cannot be negative")
    if amount > MAX_USD:
        raise ValueError(f"an amount in USD cannot exceed {MAX_USD}")
    if amount != amount.quantize(Decimal("0.000001")):
        raise ValueError("an amount in USD has at most 6 decimal places (1 micro-USD)")
    return amount


def to_micro(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * MICRO)


def micro_to_usd(micro: int | None) -> Decimal | None:
    return None if micro is None else Decimal(micro) / MICRO


def nano_to_usd(nano: int) -> Decimal:
    return Decimal(nano) / NANO
