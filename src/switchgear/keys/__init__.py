"""Virtual keys, principals, budgets and the org → team → user → key hierarchy, on the request
path and behind the admin API.

    material.py  key material: make a key, its digest and display prefix
    changes.py   the change feed: what the admin side tells the key directory (this worker at
                 once, other workers and replicas through Redis pub/sub)
"""
