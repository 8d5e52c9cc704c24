"""Offline model catalog: context windows, prices and capabilities of known models.

This package owns the bundled catalog (generated from litellm's MIT price list by
`tools/build_catalog.py` into `data/models.json`), its lookup rules and the integer money
helpers used to price requests; it depends on nothing but the standard library.
"""

from switchgear.catalog.catalog import (
    KNOWN_VENDORS,
    LOCAL_VENDORS,
    Catalog,
    ModelInfo,
    Prices,
    cost_nanousd,
    parse_usd_per_mtok,
    price_per_token_str,
)

__all__ = [
    "KNOWN_VENDORS",
    "LOCAL_VENDORS",
    "Catalog",
    "ModelInfo",
    "Prices",
    "cost_nanousd",
    "parse_usd_per_mtok",
    "price_per_token_str",
]
