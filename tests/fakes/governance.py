"""Gateways with governance on, over real stores: a SQLite file or a PostgreSQL database, memory or
Redis state. Keys are made through the storage functions (as the admin API will), in their own
event loop; what must run in a gateway's loop (publishing a change, reading its state backend)
goes there through ``GovernedGateway.call``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from switchgear.keys.admit import Governance
from switchgear.keys.changes import Change
from switchgear.keys.material import digest, display_prefix, new_key
from switchgear.simulator.server import SimulatorThread
from switchgear.stages import Stage
from switchgear.storage import Database, Limits
from switchgear.storage.keys import create_key
from switchgear.storage.migrate import upgrade
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

T = TypeVar("T")
MASTER_KEY = "sk-master-governance-test-4b1d"

# Models with known prices and scripted usage: 10 prompt and 100 completion tokens per answer.
# At $1 / $2 per million tokens an answer costs 10 + 200 = 210 micro-USD.
GOVERNED_MODELS = [
    {
        "name": "metered",
        "deployments": [{"provider": "sim", "model": "sim-small;prompt_tokens=10;completion_tokens=100"}],
        "pricing": {"input": "1", "output": "2"},
    },
    {
        "name": "metered-slow",
        "deployments": [
            {"provider": "sim", "model": "sim-small;prompt_tokens=10;completion_tokens=100;latency_ms=1500"}
        ],
        "pricing": {"input": "1", "output": "2"},
    },
    {
        "name": "metered-drip",
        "deployments": [
            {
                "provider": "sim",
                "model": "sim-small;prompt_tokens=10;completion_tokens=100;chunks=30;gap_ms=50",
            }
        ],
        "pricing": {"input": "1", "output": "2"},
    },
    {"name": "free", "deployments": [{"provider": "sim", "model": "sim-small"}]},
]
ANSWER_MICROUSD = 210


@dataclass(frozen=True)
class Stores:
    database_url: str
    redis_url: str | None

    @property
    def label(self) -> str:
        kind = "postgresql" if self.database_url.startswith("postgresql") else "sqlite"
        return f"{kind}+{'redis' if self.redis_url else 'memory'}"


class LoopProbe(Stage):
    """Remembers the gateway's event loop (tests run coroutines there)."""

    name = "loop_probe"

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()


class GovernedGateway:
    def __init__(
        self,
        sim: SimulatorThread,
        stores: Stores,
        extra_models: Sequence[dict[str, Any]] = (),
        *,
        cache: dict[str, Any] | None = None,
        guardrails: list[dict[str, Any]] | None = None,
        observability: dict[str, Any] | None = None,
        **governance: Any,
    ) -> None:
        config = base_config(sim, master_key=MASTER_KEY)
        if cache is not None:
            config["cache"] = cache
        if guardrails is not None:
            config["guardrails"] = guardrails
        if observability is not None:
            config["observability"] = observability
        config["models"] = [*config["models"], *GOVERNED_MODELS, *extra_models]
        config["storage"] = {"database_url": stores.database_url}
        if stores.redis_url:
            config["storage"]["redis_url"] = stores.redis_url
        config["governance"] = governance
        self.probe = LoopProbe()
        self.thread = GatewayThread(config, stages=[self.probe])
        self.url = self.thread.url

    def start(self) -> GovernedGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.thread.stop()

    @property
    def governance(self) -> Governance:
        found = self.thread.app.runtime.governance
        assert found is not None
        return found

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run ``coroutine`` in the gateway's event loop and wait for its result."""
        assert self.probe.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.probe.loop).result(timeout)

    def publish(self, kind: str, id_: str) -> None:
        feed = self.thread.app.runtime.feed
        assert feed is not None
        self.call(feed.publish(Change(kind, id_)))  # type: ignore[arg-type]


def with_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database in a loop of its own, run ``work``, close it."""

    async def run() -> T:
        db = Database.open(url)
        try:
            await upgrade(db)
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


NO_LIMITS = Limits()


def make_key(url: str, limits: Limits = NO_LIMITS, **fields: Any) -> tuple[str, str]:
    """A new virtual key stored in the database: (the key, its id)."""
    key = new_key()

    async def create(db: Database) -> str:
        stored = await create_key(
            db, key_hash=digest(key), key_prefix=display_prefix(key), limits=limits, **fields
        )
        return stored.id

    return key, with_db(url, create)
