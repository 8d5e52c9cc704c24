"""Building governance from the settings: the database, the state backend, the key directory, the
change feed and the stage that uses them. Nothing connects here; the stage's ``start`` does.

With ``storage.redis_url`` the state backend and the change feed use Redis (counters shared by
every worker and replica, changes reaching them within a second); without it both stay in the
process (one worker).
"""

from __future__ import annotations

from collections.abc import Mapping

from switchgear.config.model import Settings
from switchgear.keys.admit import Governance
from switchgear.keys.directory import KeyDirectory
from switchgear.keys.estimate import Estimator, Resolve
from switchgear.keys.feed import LocalFeed, RedisFeed
from switchgear.state import build_state
from switchgear.storage import Database


def build_governance(settings: Settings, environ: Mapping[str, str], resolve: Resolve) -> Governance:
    governance = settings.governance
    database = Database.from_settings(settings.storage, environ)
    directory = KeyDirectory(database, governance)
    redis_url = settings.storage.redis_url
    feed = (
        RedisFeed.from_url(directory, redis_url.get_secret_value())
        if redis_url is not None
        else LocalFeed(directory)
    )
    return Governance(
        settings=governance,
        storage=settings.storage,
        database=database,
        state=build_state(settings),
        directory=directory,
        feed=feed,
        estimator=Estimator(
            resolve,
            governance.default_max_tokens,
            hedged=frozenset(m.name for m in settings.models if m.hedge is not None),
        ),
    )
