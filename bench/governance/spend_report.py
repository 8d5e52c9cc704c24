"""Spend reports at 1,000,000 logged requests (issue 13: "the spend report for a month returns in
<= 200 ms").

Fills a database through the product's own write path (``storage.spend.record_spend`` in batches,
so the daily rollup is kept as in production), then times, warm, the month report grouped by key,
user, team, model, tag and day (``storage.reports.spend_report``), the request log's first and a
deep page (``storage.reports.query_requests``), and the same through a running gateway's
``GET /admin/spend`` and ``GET /admin/requests``. Prints the query plans, and last measures the
writer's rows/s at several batch sizes into the filled table.

    .venv/bin/python bench/governance/spend_report.py --db sqlite
    .venv/bin/python bench/governance/spend_report.py --db postgresql \\
        --url postgresql://postgres@127.0.0.1:5432

The SQLite file and the PostgreSQL database are created fresh (under /tmp for SQLite) and kept only
with ``--keep``; ``--reuse`` measures an already filled one again (e.g. after a migration).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa

from switchgear.storage import migrate
from switchgear.storage.database import Database
from switchgear.storage.reports import GroupBy, query_requests, spend_report
from switchgear.storage.rows import SpendRow
from switchgear.storage.spend import record_spend

ROOT = Path(__file__).resolve().parents[2]
MASTER = "sk-bench-spend-0123456789"
FIRST_DAY = date(2026, 10, 28)  # 35 days: 4 of October, all of November, 1 of December
DAYS = 35
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
GROUPS: tuple[GroupBy, ...] = ("key", "user", "team", "model", "tag", "day")
TAGS = ("prod", "staging", "batch", "chat", "rag", "eval", "agent", "support")


class Population:
    """~1,000 keys of ~100 users in ~20 teams of ~5 orgs; each key uses a few of ~30 models
    (with now and then another one), and keys differ in traffic (a Pareto tail)."""

    def __init__(self, rng: random.Random, keys: int, users: int, teams: int, orgs: int, models: int) -> None:
        self.models = [f"model-{m:02d}" for m in range(models)]
        self.keys: list[tuple[str, str, str, str, list[str]]] = []
        for k in range(keys):
            user = k % users
            team = user % teams
            org = team % orgs
            favourites = rng.sample(self.models, k=min(3, models))
            self.keys.append(
                (f"key-{k:04d}", f"user-{user:03d}", f"team-{team:02d}", f"org-{org}", favourites)
            )
        self.weights = [rng.paretovariate(1.2) for _ in self.keys]

    def rows(self, rng: random.Random, count: int, start: datetime, span: timedelta) -> list[SpendRow]:
        """``count`` requests spread evenly over ``span`` from ``start``, in time order."""
        chosen = rng.choices(self.keys, weights=self.weights, k=count)
        step = span / count
        rows = []
        for i, (key, user, team, org, favourites) in enumerate(chosen):
            model = rng.choice(favourites) if rng.random() < 0.9 else rng.choice(self.models)
            roll = rng.random()
            tags = () if roll < 0.5 else (rng.choice(TAGS),) if roll < 0.85 else tuple(rng.sample(TAGS, 2))
            failed = rng.random() < 0.03
            prompt = rng.randint(20, 4000)
            completion = 0 if failed else rng.randint(1, 1000)
            rows.append(
                SpendRow(
                    request_id=f"req-{uuid.UUID(int=rng.getrandbits(128)).hex}",
                    created_at=start + step * i,
                    model=model,
                    key_id=key,
                    user_id=user,
                    team_id=team,
                    org_id=org,
                    end_user=f"end-{rng.randrange(5000)}" if rng.random() < 0.3 else None,
                    tags=tags,
                    provider="openai",
                    deployment=model,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    cost_nanousd=None if failed else prompt * 150 + completion * 600,
                    duration_ms=rng.uniform(50, 3000),
                    ttfb_ms=rng.uniform(20, 500),
                    status=502 if failed else 200,
                    error_type="upstream_error" if failed else None,
                    attempts=1,
                )
            )
        return rows


async def fill(db: Database, population: Population, rows: int, batch: int, seed: int) -> dict[str, Any]:
    """Write ``rows`` requests over DAYS days, ``batch`` per ``record_spend`` call, in time order
    (as the background writer sees them); time the writer alone and the whole fill."""
    rng = random.Random(seed)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), UTC)
    per_batch = timedelta(days=DAYS) / (rows / batch)
    writing = 0.0
    began = time.perf_counter()
    written = 0
    for n in range(rows // batch):
        chunk = population.rows(rng, batch, start + per_batch * n, per_batch)
        t0 = time.perf_counter()
        written += await record_spend(db, chunk)
        writing += time.perf_counter() - t0
        if n % 200 == 0:
            print(f"  {written:>9,} rows  {written / writing:,.0f} rows/s in record_spend", flush=True)
    wall = time.perf_counter() - began
    return {
        "rows": written,
        "batch": batch,
        "wall_s": round(wall, 1),
        "writer_s": round(writing, 1),
        "writer_rows_per_s": round(written / writing),
        "wall_rows_per_s": round(written / wall),
    }


async def writer_sweep(
    db: Database, population: Population, sizes: list[int], per_size: int
) -> list[dict[str, Any]]:
    """The writer's rows/s into the filled tables at several batch sizes (rows of one later day,
    outside the reported month)."""
    rng = random.Random()  # new request ids on every run: a repeated run must not write duplicates
    results = []
    at = datetime.combine(FIRST_DAY + timedelta(days=DAYS), datetime.min.time(), UTC)
    for size in sizes:
        batches = max(1, per_size // size)
        chunks = [
            population.rows(rng, size, at + timedelta(minutes=i), timedelta(minutes=1))
            for i in range(batches)
        ]
        at += timedelta(minutes=batches)
        t0 = time.perf_counter()
        for chunk in chunks:
            await record_spend(db, chunk)
        elapsed = time.perf_counter() - t0
        results.append({"batch": size, "rows": batches * size, "rows_per_s": round(batches * size / elapsed)})
        print(f"  batch {size:>5}: {batches * size / elapsed:,.0f} rows/s", flush=True)
    return results


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """Median and max in ms of ``runs`` calls after one warm-up call; and the answer's size."""
    answer = await call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t0) * 1000)
    size = len(answer) if isinstance(answer, list) else len(getattr(answer, "rows", [])) or None
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "rows": size}


class Plans:
    """Captures the SQL the report functions send, to EXPLAIN it afterwards."""

    def __init__(self, db: Database) -> None:
        self.last: tuple[str, Any] | None = None

        @sa.event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _capture(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                self.last = (statement, parameters)

    async def explain(self, db: Database) -> str:
        assert self.last is not None
        statement, parameters = self.last
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        async with db.read() as conn:
            result = await conn.exec_driver_sql(prefix + statement, parameters)
            rows = result.all()
        if db.dialect == "sqlite":
            return "\n".join(str(row[-1]) for row in rows)
        return "\n".join(str(row[0]) for row in rows)


async def measure(db: Database, runs: int) -> tuple[dict[str, Any], dict[str, str]]:
    plans = Plans(db)
    results: dict[str, Any] = {}
    explained: dict[str, str] = {}
    start, end = MONTH
    for group in GROUPS:
        name = f"spend_report month by {group}"
        results[name] = await timed(runs, functools.partial(spend_report, db, group, start, end))
        explained[name] = await plans.explain(db)
        print(f"  {name}: {results[name]}", flush=True)
    name = "spend_report month by model, one team"
    results[name] = await timed(runs, lambda: spend_report(db, "model", start, end, team_id="team-03"))
    explained[name] = await plans.explain(db)
    print(f"  {name}: {results[name]}", flush=True)
    name = "request log first page (50)"
    results[name] = await timed(runs, lambda: query_requests(db, limit=50))
    explained[name] = await plans.explain(db)
    deep = await deep_cursor(db)
    name = "request log deep page (50, ~500,000 rows in)"
    results[name] = await timed(runs, lambda: query_requests(db, limit=50, cursor=deep))
    explained[name] = await plans.explain(db)
    name = "request log first page, one key"
    results[name] = await timed(runs, lambda: query_requests(db, limit=50, key_id="key-0500"))
    explained[name] = await plans.explain(db)
    name = "request log first page, one user"
    results[name] = await timed(runs, lambda: query_requests(db, limit=50, user_id="user-050"))
    explained[name] = await plans.explain(db)
    for key in list(results)[len(GROUPS) + 1 :]:
        print(f"  {key}: {results[key]}", flush=True)
    return results, explained


async def deep_cursor(db: Database) -> str:
    """A cursor to the middle of the log: the page after the newest request before mid-period."""
    middle = datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(days=DAYS / 2)
    page = await query_requests(db, end=middle, limit=1)
    assert page.next_cursor is not None
    return page.next_cursor


async def rollup_size(db: Database) -> dict[str, int]:
    start, end = MONTH
    async with db.read() as conn:
        total = (await conn.execute(sa.text("SELECT count(*) FROM spend_daily"))).scalar_one()
        month = (
            await conn.execute(
                sa.text("SELECT count(*) FROM spend_daily WHERE day >= :s AND day <= :e AND tag = ''"),
                {"s": start, "e": end},
            )
        ).scalar_one()
        logged = (await conn.execute(sa.text("SELECT count(*) FROM spend_log"))).scalar_one()
    return {"spend_log_rows": logged, "spend_daily_rows": total, "spend_daily_month_untagged": month}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def measure_http(url: str, runs: int, workdir: Path) -> dict[str, Any]:
    """The same month reports through a running gateway's admin API (one worker)."""
    port = free_port()
    config = workdir / "switchgear-spend.yaml"
    config.write_text(
        "server:\n"
        f"  host: 127.0.0.1\n  port: {port}\n  master_key: {MASTER}\n  access_log: false\n"
        "providers:\n  up: {type: openai, base_url: 'http://127.0.0.1:9/v1', api_key: sk-none}\n"
        "models:\n  - {name: m, deployments: [{provider: up, model: m}]}\n"
        f"storage:\n  database_url: '{url}'\n"
    )
    gateway = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "switchgear"),
        *("serve", "--config", str(config), "--log-level", "warning"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    results: dict[str, Any] = {}
    try:
        headers = {"Authorization": f"Bearer {MASTER}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
        ) as client:
            for _ in range(200):
                try:
                    if (await client.get("/health")).status_code < 500:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            start, end = MONTH
            for group in GROUPS:

                async def report(g: str = group) -> list[Any]:
                    response = await client.get(
                        "/admin/spend", params={"group_by": g, "start": str(start), "end": str(end)}
                    )
                    response.raise_for_status()
                    data: list[Any] = response.json()["data"]
                    return data

                name = f"GET /admin/spend month by {group}"
                results[name] = await timed(runs, report)
                print(f"  {name}: {results[name]}", flush=True)

            async def page(params: dict[str, Any]) -> list[Any]:
                response = await client.get("/admin/requests", params=params)
                response.raise_for_status()
                data: list[Any] = response.json()["data"]
                return data

            first = await client.get("/admin/requests", params={"limit": 50})
            first.raise_for_status()
            results["GET /admin/requests first page (50)"] = await timed(runs, lambda: page({"limit": 50}))
            db = Database.open(url)
            try:
                deep = await deep_cursor(db)
            finally:
                await db.close()
            name = "GET /admin/requests deep page (50)"
            results[name] = await timed(runs, lambda: page({"limit": 50, "cursor": deep}))
            for key in list(results)[len(GROUPS) :]:
                print(f"  {key}: {results[key]}", flush=True)
    finally:
        gateway.terminate()
        await asyncio.wait_for(gateway.wait(), timeout=20)
    return results


async def postgres_database(server: str, name: str, *, fresh: bool) -> str:
    conn = await asyncpg.connect(server.rstrip("/") + "/postgres")
    try:
        if fresh:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.rstrip("/") + "/" + name


async def drop_postgres(server: str, name: str) -> None:
    conn = await asyncpg.connect(server.rstrip("/") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in load], "python": sys.version.split()[0]}


def write_results(out: Path, label: str, payload: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"spend-report-{label}-{payload['stamp']}"
    base.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    lines = [
        f"# Spend reports at {payload['size']['spend_log_rows']:,} requests: {label}",
        "",
        f"{payload['stamp']} · commit {payload['commit']} · {payload['machine']}",
        "",
        f"Rollup: {payload['size']['spend_daily_rows']:,} spend_daily rows in all; "
        f"{payload['size']['spend_daily_month_untagged']:,} untagged rows in the reported month.",
        "",
    ]
    if payload.get("fill"):
        f = payload["fill"]
        lines += [
            f"Fill: {f['rows']:,} rows in {f['wall_s']} s ({f['wall_rows_per_s']:,} rows/s with generation); "
            f"record_spend alone {f['writer_rows_per_s']:,} rows/s at batch {f['batch']}.",
            "",
        ]
    lines += ["| query | median ms | max ms | rows |", "|---|---:|---:|---:|"]
    for section in ("service", "http"):
        for name, r in payload.get(section, {}).items():
            lines.append(f"| {name} | {r['median_ms']} | {r['max_ms']} | {r['rows']} |")
    if payload.get("writer"):
        lines += ["", "| writer batch | rows | rows/s |", "|---:|---:|---:|"]
        lines += [f"| {w['batch']} | {w['rows']:,} | {w['rows_per_s']:,} |" for w in payload["writer"]]
    lines += ["", "## Plans", ""]
    for name, plan in payload.get("plans", {}).items():
        lines += [f"### {name}", "", "```", plan, "```", ""]
    base.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return base


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--path", default=str(Path(tempfile.gettempdir()) / "switchgear-spend-bench.db"))
    parser.add_argument("--pg-name", default="switchgear_spend_bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--batch", type=int, default=500, help="rows per record_spend (the default spend_log.batch_size)"
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--sweep", default="100,500,2000,5000", help="writer batch sizes to time afterwards ('' for none)"
    )
    parser.add_argument("--sweep-rows", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="measure the database filled by an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()

    if args.db == "sqlite":
        if not args.reuse:
            remove_sqlite(args.path)
        url = f"sqlite:///{args.path}"
    else:
        url = await postgres_database(args.url, args.pg_name, fresh=not args.reuse)
    db = Database.open(url)
    population = Population(random.Random(7), keys=1000, users=100, teams=20, orgs=5, models=30)
    payload: dict[str, Any] = {
        "stamp": datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        "commit": commit(),
        "machine": machine(),
        "database": args.db,
        "month": [str(d) for d in MONTH],
        "runs": args.runs,
    }
    try:
        print(f"migrating {db.url}", flush=True)
        await migrate.upgrade(db)
        if not args.reuse:
            print(f"filling {args.rows:,} rows, batch {args.batch}", flush=True)
            payload["fill"] = await fill(db, population, args.rows, args.batch, seed=1)
            if db.dialect == "postgresql":
                async with db.write() as conn:
                    await conn.exec_driver_sql("ANALYZE")
        payload["size"] = await rollup_size(db)
        print(f"sizes: {payload['size']}", flush=True)
        print("service layer (storage.reports):", flush=True)
        payload["service"], payload["plans"] = await measure(db, args.runs)
        if not args.no_http:
            print("HTTP (GET /admin/spend, /admin/requests):", flush=True)
            with tempfile.TemporaryDirectory() as workdir:
                payload["http"] = await measure_http(url, args.runs, Path(workdir))
        if args.sweep:
            print("writer sweep:", flush=True)
            sizes = [int(s) for s in args.sweep.split(",")]
            payload["writer"] = await writer_sweep(db, population, sizes, args.sweep_rows)
        payload["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        await db.close()
        if not args.keep:
            if args.db == "sqlite":
                remove_sqlite(args.path)
            else:
                await drop_postgres(args.url, args.pg_name)
    base = write_results(Path(args.out), args.db, payload)
    print(f"results: {base}.md / .json")


if __name__ == "__main__":
    asyncio.run(main())
