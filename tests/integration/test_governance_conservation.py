"""Conservation: after a mixed load through one gateway (answers, streams, upstream errors before
and during a stream, clients that leave mid-stream, fallbacks to another deployment and to another
model), the spend-log rows add up to exactly what every key, user, team and org has recorded, in
the state backend and in the database's durable counters, and nothing stays reserved.

Like is compared with like: the spend log keeps each request's cost in nano-USD, the budgets count
it rounded up to a micro-USD (``Governance._settle_one``), so the rows are summed that way; a model
priced in fractions of a micro-USD per token makes the rounding matter.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import openai
import pytest

from switchgear.keys.ledger import stored_period
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Budget, Period, Scope
from switchgear.storage import Database, Limits
from switchgear.storage.hierarchy import create_org, create_team, create_user
from tests.fakes.governance import GovernedGateway, Stores, make_key, with_db
from tests.fakes.governed_load import HI, STORES, charged_microusd, db_counters, proof_stores, spend_rows
from tests.fakes.redis_server import RedisServer

USAGE = "prompt_tokens=10;completion_tokens=100"
DRIP = "chunks=30;gap_ms=40"
FRACTIONAL = {"input": "0.15", "output": "0.6"}  # 61,500 nano-USD an answer: 62 micro-USD charged
WHOLE = {"input": "1", "output": "2"}


def _model(name: str, pricing: dict[str, str], *deployments: tuple[str, str, int]) -> dict[str, Any]:
    return {
        "name": name,
        "pricing": pricing,
        "deployments": [{"provider": p, "model": m, "weight": w} for p, m, w in deployments],
    }


MODELS = [
    _model("frac", FRACTIONAL, ("sim", f"sim-small;{USAGE}", 1)),
    _model("frac-drip", FRACTIONAL, ("sim", f"sim-small;{USAGE};{DRIP}", 1)),
    _model("whole-drip", WHOLE, ("sim", f"sim-small;{USAGE};{DRIP}", 1)),
    _model("whole-breaks", WHOLE, ("sim", f"sim-small;{USAGE};{DRIP};disconnect_after=8", 1)),
    _model("broken", WHOLE, ("sim", "sim-small;status=500", 1)),
    # the first deployment answers 503, the router falls back to the second
    _model("falls-back", FRACTIONAL, ("sim", "sim-small;status=503", 1), ("sim2", f"sim-small;{USAGE}", 0)),
]
DAY = Period.parse("1d")
BIG = Limits(max_budget_microusd=10_000_000, budget_duration="1d")


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: object, redis_server: RedisServer) -> Iterator[Stores]:
    yield from proof_stores(request, tmp_path, redis_server)


@pytest.fixture
def gateway(sim: SimulatorThread, stores: Stores) -> Iterator[GovernedGateway]:
    gw = GovernedGateway(sim, stores, extra_models=MODELS).start()
    yield gw
    gw.stop()


def _answer(c: openai.OpenAI, model: str, **extra: Any) -> str:
    c.chat.completions.create(model=model, messages=HI, max_tokens=100, **extra)
    return "ok"


def _stream(c: openai.OpenAI, model: str, **extra: Any) -> str:
    with c.chat.completions.create(model=model, messages=HI, max_tokens=100, stream=True, **extra) as s:
        for _ in s:
            pass
    return "ok"


def _leave(c: openai.OpenAI, model: str) -> str:
    stream = c.chat.completions.create(model=model, messages=HI, max_tokens=100, stream=True)
    chunks = iter(stream)
    for _ in range(5):
        next(chunks)
    stream.close()
    return "left"


def _fails(work: Callable[[], str]) -> str:
    try:
        work()
    except openai.APIError:
        return "failed"
    return "ok"


def _jobs(c: openai.OpenAI) -> list[Callable[[], str]]:
    usage = {"stream_options": {"include_usage": True}}
    return [
        *[partial(_answer, c, "metered")] * 3,
        *[partial(_answer, c, "frac", user="alice")] * 3,
        *[partial(_stream, c, "whole-drip", **usage)] * 2,
        *[partial(_stream, c, "frac-drip")] * 2,  # no usage asked for: the gateway counts it
        *[partial(_fails, partial(_answer, c, "broken"))] * 2,
        *[partial(_fails, partial(_stream, c, "broken"))] * 1,
        *[partial(_fails, partial(_stream, c, "whole-breaks", **usage))] * 2,
        *[partial(_answer, c, "falls-back")] * 2,
        *[partial(_stream, c, "falls-back")] * 1,
        *[partial(_answer, c, "broken", extra_body={"models": ["frac"]})] * 2,
        *[partial(_leave, c, "frac-drip")] * 2,
        *[partial(_leave, c, "whole-drip")] * 1,
    ]


def test_spend_log_rows_add_up_to_every_scope(gateway: GovernedGateway, stores: Stores) -> None:
    url = stores.database_url

    async def hierarchy(db: Database) -> tuple[str, str, str]:
        org = await create_org(db, "acme", limits=BIG)
        team = await create_team(db, "research", org_id=org.id, limits=BIG)
        user = await create_user(db, name="ada", team_id=team.id, org_id=org.id, limits=BIG)
        return org.id, team.id, user.id

    org_id, team_id, user_id = with_db(url, hierarchy)
    keys = [
        make_key(url, BIG, user_id=user_id, team_id=team_id, org_id=org_id),
        make_key(url, BIG, user_id=user_id, team_id=team_id, org_id=org_id),
        make_key(url, BIG, team_id=team_id, org_id=org_id),  # a team key with no user
    ]
    gateway.call(gateway.governance.directory.load())
    clients = [
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=k, max_retries=0, timeout=20) for k, _ in keys
    ]
    jobs = [job for c in clients for job in _jobs(c)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = Counter(f.result() for f in [pool.submit(job) for job in jobs])
    for c in clients:
        c.close()
    per_key = len(jobs) // len(keys)
    assert outcomes == {"ok": len(jobs) - 5 * 3 - 3 * 3, "failed": 5 * 3, "left": 3 * 3}

    deadline = time.monotonic() + 10
    while len(rows := spend_rows(url, org_id=org_id)) < len(jobs):
        assert time.monotonic() < deadline, f"{len(rows)} spend-log rows of {len(jobs)}"
        time.sleep(0.1)
    assert len(rows) == len(jobs)
    statuses = Counter(r.status for r in rows)
    assert statuses[499] == 3 * 3 and statuses[200] == len(jobs) - 3 * 3 - 5 * 3, statuses
    assert any(r.attempts > 1 and r.status == 200 for r in rows)  # fallbacks served
    assert any(r.cost_nanousd and r.cost_nanousd % 1000 for r in rows)  # rounding matters
    assert all(r.cost_nanousd and 0 < r.completion_tokens < 100 for r in rows if r.status == 499)
    scopes = [
        ("org", org_id, {"org_id": org_id}, len(jobs)),
        ("team", team_id, {"team_id": team_id}, len(jobs)),
        ("user", user_id, {"user_id": user_id}, 2 * per_key),
        *[("key", key_id, {"key_id": key_id}, per_key) for _k, key_id in keys],
    ]
    period = stored_period(Budget(Scope("org", org_id), 1, DAY), int(time.time()))
    expected: dict[tuple[str, str], int] = {}
    for kind, scope_id, filters, count in scopes:
        mine = spend_rows(url, **filters)
        assert len(mine) == count, (kind, len(mine))
        expected[kind, scope_id] = charged_microusd(mine)
    assert expected["org", org_id] == expected["team", team_id] == sum(expected["key", k] for _, k in keys)
    assert expected["user", user_id] == expected["key", keys[0][1]] + expected["key", keys[1][1]]

    deadline = time.monotonic() + 10
    while True:
        recorded = {
            (kind, scope_id): (_state(gateway, kind, scope_id), db_counters(url, kind, scope_id))
            for kind, scope_id, _f, _c in scopes
        }
        wanted = {s: ((amount, 0), [(period, amount)]) for s, amount in expected.items()}
        if recorded == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert recorded == wanted


def _state(gw: GovernedGateway, kind: str, scope_id: str) -> tuple[int, int]:
    found = gw.call(gw.governance.state.spent(Scope(kind, scope_id), DAY))  # type: ignore[arg-type]
    return found.spent_microusd, found.reserved_microusd


def test_a_stream_cut_by_the_client_is_charged_what_was_generated(
    gateway: GovernedGateway, stores: Stores
) -> None:
    """B4: the client leaves after a few chunks, before the provider's usage arrives. The request
    is charged the output relayed until then (counted), in the spend log and the budget alike, and
    its reservation is released."""
    url = stores.database_url
    key, key_id = make_key(url, BIG)
    gateway.publish("key", key_id)
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=20) as c:
        assert _leave(c, "whole-drip") == "left"
    deadline = time.monotonic() + 10
    while not (rows := spend_rows(url, key_id=key_id)):
        assert time.monotonic() < deadline, "no spend-log row"
        time.sleep(0.1)
    (row,) = rows
    assert row.status == 499 and row.stream
    assert 5 <= row.completion_tokens < 100, row  # at least the chunks read, less than the whole answer
    assert row.cost_nanousd, row
    charged = charged_microusd(rows)
    period = stored_period(Budget(Scope("key", key_id), 1, DAY), int(time.time()))
    deadline = time.monotonic() + 5
    while (_state(gateway, "key", key_id), db_counters(url, "key", key_id)) != (
        (charged, 0),
        [(period, charged)],
    ):
        assert time.monotonic() < deadline, (_state(gateway, "key", key_id), db_counters(url, "key", key_id))
        time.sleep(0.1)
