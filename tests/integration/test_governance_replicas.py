"""The exactness proofs across replicas: three `switchgear serve` processes sharing one PostgreSQL
database and one Redis, requests spread round-robin over them. A budget of exactly K worst cases
under 200 requests released together (B1 across processes), and an rpm limit of L under 3L
requests in about a second (R1). Every key is made before the processes start, so each loads it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from switchgear.keys.ledger import stored_period
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Budget, Period, Scope
from switchgear.state.redis_backend import RedisState
from switchgear.storage import Limits
from tests.conftest import base_config
from tests.fakes.governance import MASTER_KEY, make_key
from tests.fakes.governed_load import (
    body,
    burst,
    charged_microusd,
    exact_model,
    wait_db_spent,
    wait_rows,
    worst_case_microusd,
)
from tests.fakes.postgres import PostgresServer
from tests.fakes.redis_server import RedisServer
from tests.fakes.served import ServedGateway

REPLICAS = 3
BUDGET_REPEAT = 5
RATE_REPEAT = 3
BURST = 200
K = 7
RPM = 20
USD = 1_000_000
EXACT = body("exact")
EXACT_WORST = worst_case_microusd(EXACT, 1 * USD, 2 * USD)
LIMIT = K * EXACT_WORST + EXACT_WORST - 1
CHEAP = body("cheap")  # answered with 210 micro-USD, well under its worst case
CHEAP_WORST = worst_case_microusd(CHEAP, 1 * USD, 2 * USD)
CHEAP_LIMIT = K * CHEAP_WORST + CHEAP_WORST - 1
CHEAP_MICROUSD = 210
DAY = Period.parse("1d")


@dataclass
class Replicas:
    database_url: str
    redis_url: str
    urls: list[str]
    budget_keys: list[tuple[str, str]]
    rate_keys: list[tuple[str, str]]
    cheap_keys: list[tuple[str, str]]

    def round_robin(self, key: str, raw: bytes, count: int) -> list[tuple[str, str, bytes]]:
        return [(self.urls[i % len(self.urls)], key, raw) for i in range(count)]


@pytest.fixture(scope="module")
def replicas(
    sim: SimulatorThread, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[Replicas]:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    name = f"sg_replicas_{time.monotonic_ns()}"
    database_url = asyncio.run(postgres_server.create_database(name))
    budget_keys = [
        make_key(database_url, Limits(max_budget_microusd=LIMIT, budget_duration="1d"))
        for _ in range(BUDGET_REPEAT)
    ]
    rate_keys = [make_key(database_url, Limits(rpm_limit=RPM)) for _ in range(RATE_REPEAT)]
    cheap = Limits(max_budget_microusd=CHEAP_LIMIT, budget_duration="1d")
    cheap_keys = [make_key(database_url, cheap) for _ in range(BUDGET_REPEAT)]
    config = base_config(sim, master_key=MASTER_KEY)
    cheap_model = {
        "name": "cheap",
        "deployments": [{"provider": "sim", "model": "sim-small;prompt_tokens=10;completion_tokens=100"}],
        "pricing": {"input": "1", "output": "2"},
    }
    config["models"] = [*config["models"], exact_model("exact", EXACT), cheap_model]
    config["storage"] = {"database_url": database_url, "redis_url": redis_server.url}
    gateways = [ServedGateway(config) for _ in range(REPLICAS)]
    try:
        for gw in gateways:
            gw.start(60)
        yield Replicas(
            database_url, redis_server.url, [gw.url for gw in gateways], budget_keys, rate_keys, cheap_keys
        )
    finally:
        for gw in gateways:
            gw.stop()
        asyncio.run(postgres_server.drop_database(name))


def shared_spend(redis_url: str, budget: Budget) -> tuple[int, int]:
    """(spent, reserved) of a budget in the shared Redis, read as a gateway reads it."""

    async def read() -> tuple[int, int]:
        state = RedisState.from_url(redis_url)
        await state.start()
        try:
            found = await state.spent(budget.scope, budget.period)
        finally:
            await state.close()
        return found.spent_microusd, found.reserved_microusd

    return asyncio.run(read())


def test_budget_of_k_worst_cases_admits_exactly_k_across_three_processes(replicas: Replicas) -> None:
    for key, key_id in replicas.budget_keys:
        outcome = burst(replicas.round_robin(key, EXACT, BURST))
        assert outcome.statuses == {200: K, 429: BURST - K}, outcome
        assert outcome.codes == {"budget_exceeded": BURST - K}
        budget = Budget(Scope("key", key_id), LIMIT, DAY)
        deadline = time.monotonic() + 5
        while (found := shared_spend(replicas.redis_url, budget)) != (K * EXACT_WORST, 0):
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
        rows = wait_rows(replicas.database_url, BURST, key_id=key_id)
        assert len(rows) == BURST
        assert len([r for r in rows if r.status == 200]) == K
        assert charged_microusd(rows) == K * EXACT_WORST <= LIMIT
        period = stored_period(budget, int(time.time()))
        spent = wait_db_spent(replicas.database_url, "key", key_id, period, K * EXACT_WORST)
        assert spent == K * EXACT_WORST  # what the three processes' ledgers wrote, together


def test_budget_holds_across_three_processes_while_settles_give_back(replicas: Replicas) -> None:
    """Answers cost less than their worst case, so settles in three processes return money during
    the burst: more than K may pass, but the spend recorded never passes the budget."""
    for key, key_id in replicas.cheap_keys:
        outcome = burst(replicas.round_robin(key, CHEAP, BURST))
        assert set(outcome.statuses) <= {200, 429} and outcome.codes.keys() <= {"budget_exceeded"}, outcome
        admitted = outcome.admitted
        assert admitted >= K and admitted * CHEAP_MICROUSD <= CHEAP_LIMIT
        budget = Budget(Scope("key", key_id), CHEAP_LIMIT, DAY)
        deadline = time.monotonic() + 5
        while (found := shared_spend(replicas.redis_url, budget)) != (admitted * CHEAP_MICROUSD, 0):
            assert time.monotonic() < deadline, (found, admitted)
            time.sleep(0.05)
        rows = wait_rows(replicas.database_url, BURST, key_id=key_id)
        assert charged_microusd(rows) == admitted * CHEAP_MICROUSD <= CHEAP_LIMIT
        period = stored_period(budget, int(time.time()))
        spent = wait_db_spent(replicas.database_url, "key", key_id, period, admitted * CHEAP_MICROUSD)
        assert spent == admitted * CHEAP_MICROUSD


def test_rpm_limit_holds_across_three_processes(replicas: Replicas) -> None:
    """3L requests within about a second, in waves, round-robin: exactly L pass in the window."""
    for key, _key_id in replicas.rate_keys:
        waves = 6
        admitted = 0
        refused = 0
        started = time.monotonic()
        for _ in range(waves):
            outcome = burst(replicas.round_robin(key, EXACT, 3 * RPM // waves))
            assert set(outcome.statuses) <= {200, 429}, outcome
            assert outcome.codes.keys() <= {"rate_limit_exceeded"}, outcome
            admitted += outcome.statuses[200]
            refused += outcome.statuses[429]
            time.sleep(0.15)
        assert time.monotonic() - started < 10
        assert (admitted, refused) == (RPM, 2 * RPM)
        again = burst(replicas.round_robin(key, EXACT, REPLICAS))  # still within the same 60 s
        assert again.statuses == {429: REPLICAS}, again
