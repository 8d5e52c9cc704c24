"""The exactness proofs of governance in one gateway process, over real sockets against the
simulator: a budget under 200 requests released together (B1), a new end-user's budget under 8
(B2), ``max_parallel_requests`` given back however a request ends (R3), on memory state with SQLite
and on Redis state with PostgreSQL. Conservation (spend log = counters) is in
``test_governance_conservation.py``, the three-process proofs in ``test_governance_replicas.py``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import openai
import pytest

from switchgear.keys.ledger import stored_period
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Budget, Period, Scope
from switchgear.storage import Limits
from switchgear.storage.hierarchy import create_end_user
from tests.fakes.governance import ANSWER_MICROUSD, GovernedGateway, Stores, make_key, with_db
from tests.fakes.governed_load import (
    HI,
    STORES,
    body,
    burst,
    charged_microusd,
    db_counters,
    exact_model,
    proof_stores,
    spend_rows,
    wait_db_spent,
    wait_rows,
    worst_case_microusd,
)
from tests.fakes.redis_server import RedisServer

REPEAT = 5
BURST = 200
K = 7  # the budget holds exactly this many worst cases
USD = 1_000_000  # micro-USD per USD: the $1 / $2 per million tokens prices, in micro-USD per million

EXACT = body("exact")  # answered with exactly its worst case
EXACT_WORST = worst_case_microusd(EXACT, 1 * USD, 2 * USD)
EXACT_EU = body("exact-eu", user="eu-" + "0" * 16)  # the same length for every end-user id below
EXACT_EU_WORST = worst_case_microusd(EXACT_EU, 1 * USD, 2 * USD)
METERED = body("metered")  # answered with 210 micro-USD, less than its worst case
METERED_WORST = worst_case_microusd(METERED, 1 * USD, 2 * USD)
MODELS = [
    exact_model("exact", EXACT),
    exact_model("exact-eu", EXACT_EU),
    {
        "name": "held",  # a stream that lasts ~6 s unless cut
        "deployments": [
            {
                "provider": "sim",
                "model": "sim-small;prompt_tokens=10;completion_tokens=100;chunks=60;gap_ms=100",
            }
        ],
        "pricing": {"input": "1", "output": "2"},
    },
    {
        "name": "held-then-broken",  # the upstream drops the connection after ~1.5 s
        "deployments": [
            {
                "provider": "sim",
                "model": "sim-small;prompt_tokens=10;completion_tokens=100;chunks=60;gap_ms=100"
                ";disconnect_after=15",
            }
        ],
        "pricing": {"input": "1", "output": "2"},
    },
]


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: object, redis_server: RedisServer) -> Iterator[Stores]:
    yield from proof_stores(request, tmp_path, redis_server)


@pytest.fixture
def gateway(sim: SimulatorThread, stores: Stores) -> Iterator[GovernedGateway]:
    gw = GovernedGateway(sim, stores, extra_models=MODELS).start()
    yield gw
    gw.stop()


def day(scope: Scope) -> Budget:
    return Budget(scope, 1, Period.parse("1d"))


def state_spend(gw: GovernedGateway, budget: Budget) -> tuple[int, int]:
    """(spent, reserved) of a budget in the gateway's state backend, now."""
    found = gw.call(gw.governance.state.spent(budget.scope, budget.period))
    return found.spent_microusd, found.reserved_microusd


def settled(gw: GovernedGateway, budget: Budget, expected: int, timeout: float = 5.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        found = state_spend(gw, budget)
        if found == (expected, 0) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


# B1: a budget of exactly K worst cases under 200 requests released together -----------------------


def test_budget_of_k_worst_cases_admits_exactly_k_of_200(gateway: GovernedGateway, stores: Stores) -> None:
    """Answers cost exactly their worst case, so nothing a settle gives back lets a K+1st in."""
    limit = K * EXACT_WORST + EXACT_WORST - 1
    for _ in range(REPEAT):
        key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=limit, budget_duration="1d"))
        gateway.publish("key", key_id)
        budget = day(Scope("key", key_id))
        outcome = burst([(gateway.url, key, EXACT)] * BURST)
        assert outcome.statuses == {200: K, 429: BURST - K}, outcome
        assert outcome.codes == {"budget_exceeded": BURST - K}
        assert settled(gateway, budget, K * EXACT_WORST) == (K * EXACT_WORST, 0)
        rows = wait_rows(stores.database_url, BURST, key_id=key_id)
        answered = [r for r in rows if r.status == 200]
        assert len(answered) == K
        assert charged_microusd(rows) == K * EXACT_WORST <= limit
        period = stored_period(budget, int(time.time()))
        assert wait_db_spent(stores.database_url, "key", key_id, period, K * EXACT_WORST) == K * EXACT_WORST


def test_budget_holds_while_settles_give_back_the_unused_worst_case(
    gateway: GovernedGateway, stores: Stores
) -> None:
    """Answers cost less than their worst case: settles return the difference during the burst,
    so more than K may pass, but the recorded spend never passes the budget."""
    limit = K * METERED_WORST + METERED_WORST - 1
    for _ in range(REPEAT):
        key, key_id = make_key(stores.database_url, Limits(max_budget_microusd=limit, budget_duration="1d"))
        gateway.publish("key", key_id)
        budget = day(Scope("key", key_id))
        outcome = burst([(gateway.url, key, METERED)] * BURST)
        admitted = outcome.admitted
        assert set(outcome.statuses) <= {200, 429} and outcome.codes.keys() <= {"budget_exceeded"}, outcome
        assert admitted >= K and admitted * ANSWER_MICROUSD <= limit
        assert settled(gateway, budget, admitted * ANSWER_MICROUSD) == (admitted * ANSWER_MICROUSD, 0)
        rows = wait_rows(stores.database_url, BURST, key_id=key_id)
        assert len([r for r in rows if r.status == 200]) == admitted
        assert charged_microusd(rows) == admitted * ANSWER_MICROUSD <= limit


# B2: the first requests of a new end-user, together ------------------------------------------------


def test_first_requests_of_a_new_end_user_share_one_budget(gateway: GovernedGateway, stores: Stores) -> None:
    """8 requests of an end-user that never made one, each with a key of its own, released
    together: one counter, and the end-user's budget holds across all 8."""
    admits = 3
    for _ in range(REPEAT):
        end_user = f"eu-{secrets.token_hex(8)}"
        raw = body("exact-eu", user=end_user)
        assert len(raw) == len(EXACT_EU)
        worst = EXACT_EU_WORST
        limit = admits * worst + worst - 1

        limits = Limits(max_budget_microusd=limit, budget_duration="1d")
        with_db(stores.database_url, partial(create_end_user, end_user_id=end_user, limits=limits))
        gateway.publish("end_user", end_user)
        keys = [make_key(stores.database_url) for _ in range(8)]  # no budget of their own
        for _key, key_id in keys:
            gateway.publish("key", key_id)
        outcome = burst([(gateway.url, key, raw) for key, _id in keys])
        budget = day(Scope("end_user", end_user))
        spent, reserved = settled(gateway, budget, outcome.admitted * worst)
        assert reserved == 0 and spent <= limit
        assert outcome.statuses == {200: admits, 429: 8 - admits}, outcome
        assert outcome.codes == {"budget_exceeded": 8 - admits}
        deadline = time.monotonic() + 10
        while len(mine := [r for r in spend_rows(stores.database_url) if r.end_user == end_user]) < 8:
            assert time.monotonic() < deadline, f"{len(mine)} spend-log rows of 8"
            time.sleep(0.1)
        mine = [r for r in mine if r.status == 200]
        assert len(mine) == admits and spent == charged_microusd(mine)
        period = stored_period(budget, int(time.time()))
        assert wait_db_spent(stores.database_url, "end_user", end_user, period, spent) == spent
        assert db_counters(stores.database_url, "end_user", end_user) == [(period, spent)]


# R3: max_parallel_requests, and its slots coming back however a request ends -----------------------


def test_parallel_slots_come_back_after_success_failure_and_disconnect(
    gateway: GovernedGateway, stores: Stores
) -> None:
    parallel = 3
    key, key_id = make_key(stores.database_url, Limits(max_parallel_requests=parallel))
    gateway.publish("key", key_id)
    concurrency = gateway.governance.directory.by_id[key_id].concurrency
    assert concurrency is not None

    def in_flight() -> int:
        return gateway.call(gateway.governance.state.in_flight(concurrency))

    def wait_in_flight(expected: int) -> None:
        deadline = time.monotonic() + 5
        while in_flight() != expected:
            assert time.monotonic() < deadline, f"{in_flight()} in flight, expected {expected}"
            time.sleep(0.02)

    c = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=20)
    with c, ThreadPoolExecutor(parallel + 5) as pool:
        finishing = c.chat.completions.create(model="held", messages=HI, stream=True)
        breaking = c.chat.completions.create(model="held-then-broken", messages=HI, stream=True)
        leaving = c.chat.completions.create(model="held", messages=HI, stream=True)
        streams = [iter(s) for s in (finishing, breaking, leaving)]
        for s in streams:
            next(s)
        assert in_flight() == parallel

        def refused() -> str:
            try:
                c.chat.completions.create(model="held", messages=HI, stream=True).close()
            except openai.RateLimitError as error:
                assert error.response.headers["retry-after"] == "1"
                return str(error.code)
            return "admitted"

        assert [f.result() for f in [pool.submit(refused) for _ in range(5)]] == [
            "too_many_parallel_requests"
        ] * 5

        leaving.close()  # the client goes away mid-stream
        wait_in_flight(parallel - 1)
        with pytest.raises(openai.APIError):  # the upstream breaks mid-stream
            for _ in streams[1]:
                pass
        wait_in_flight(parallel - 2)
        for _ in streams[0]:  # read to the end
            pass
        wait_in_flight(0)

        def admitted() -> bool:
            with c.chat.completions.create(model="held", messages=HI, stream=True) as s:
                next(iter(s))
                time.sleep(0.5)  # all held together
                return True

        again = [pool.submit(admitted) for _ in range(parallel)]
        time.sleep(0.3)
        assert refused() == "too_many_parallel_requests"
        assert all(f.result() for f in again)
    wait_in_flight(0)
