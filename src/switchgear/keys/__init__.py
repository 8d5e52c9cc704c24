"""Virtual keys, principals, budgets and the org → team → user → key hierarchy, on the request
path and behind the admin API (docs/governance.md).

    material.py   key material: make a key, its digest and display prefix
    changes.py    the change feed protocol: what the admin side tells the key directory
    feed.py       change feeds: this process only, or every process through Redis pub/sub
    directory.py  every key and limit in memory: lookup by digest, per-key plans of limits
    limits.py     one object's limits in the state layer's terms (budgets, rate limits, periods)
    estimate.py   a request's worst case: tokens from the body size, max_tokens, highest prices
    refusals.py   the 429 / 403 errors of refused requests and the x-ratelimit-* headers
    admit.py      the governance stage: admit (one atomic admission), settle (batched), lifecycle
    ledger.py     settled spend kept in the database; the state backend seeded from it at start
    alerts.py     soft-budget alerts to a webhook, off the request path
    setup.py      building all of it from the settings
"""
