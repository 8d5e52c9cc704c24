"""A gateway with governance for the admin API tests: a master key, the admin service over a real
database (SQLite or PostgreSQL, opened in the gateway's own event loop) and a change feed that
keeps what was published."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.pool import NullPool

from switchgear.keys.admin import AdminService
from switchgear.keys.changes import Change
from switchgear.server import App
from switchgear.simulator.server import SimulatorThread
from switchgear.storage import Database
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

MASTER = "sk-master-admin-tests-2b9c"


class RecordingFeed:
    """A change feed for one process with no key directory: it keeps every change, in order."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    async def publish(self, change: Change) -> None:
        self.changes.append(change)


def database_url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


@contextmanager
def governed_gateway(
    sim: SimulatorThread, db: Database, *, master_key: str | None = MASTER
) -> Iterator[tuple[GatewayThread, RecordingFeed]]:
    """A gateway whose admin API works on ``db``'s database, with a recording change feed."""
    feed = RecordingFeed()
    own = Database.open(database_url(db), poolclass=NullPool)  # no connection outlives its loop
    service = AdminService(own, feed, master_key=master_key)
    config = base_config(sim, master_key=master_key) if master_key else base_config(sim)
    config["storage"] = {"database_url": database_url(db), "migrate_on_start": False}  # its spend log too
    gw = GatewayThread(config)
    gw.app = App(gw.app.runtime, admin=service)
    gw.start()
    try:
        yield gw, feed
    finally:
        gw.stop()
