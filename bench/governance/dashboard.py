"""The admin UI's overview dashboard at 1,000,000 logged requests (issue 14: "the dashboard of a
gateway with 1,000,000 logged requests loads in <= 1 s").

Fills a database as ``spend_report.py`` does (the product's own writer, so the daily rollup is kept
as in production), with the 35 days of traffic ending today, so that the dashboard's "last N days"
cover it. Then times, warm, the dashboard service (``AdminService.dashboard.overview``) for the
master key and for a team admin, and the whole HTML pages through a running gateway: sign in at
``/ui/login`` like a browser, then ``GET /ui/overview?days=N``, ``/ui/requests`` and ``/ui/spend``.

    .venv/bin/python bench/governance/dashboard.py --db sqlite
    .venv/bin/python bench/governance/dashboard.py --db postgresql

``--reuse`` measures a database kept (``--keep``) by an earlier run; the fill's days are then those
of that run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spend_report as sr  # noqa: E402  (the fill, timer and helpers of the spend report bench)

from switchgear.keys.admin import AdminService  # noqa: E402
from switchgear.keys.tenancy import MASTER_ACTOR, Actor  # noqa: E402
from switchgear.storage import migrate  # noqa: E402
from switchgear.storage.database import Database  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DAYS = (1, 7, 14, 30, 90)
TEAM_ADMIN = Actor("team_admin", "key-bench", org_id="org-3", team_id="team-03", key_id="key-bench")


class _Feed:
    async def publish(self, change: Any) -> None:
        pass


async def measure_service(db: Database, runs: int) -> dict[str, Any]:
    service = AdminService(db, _Feed(), master_key=sr.MASTER)  # type: ignore[arg-type]
    results: dict[str, Any] = {}
    for who, actor in (("master", MASTER_ACTOR), ("team admin", TEAM_ADMIN)):
        for days in DAYS:

            async def board(d: int = days, a: Actor = actor) -> list[Any]:
                overview = await service.dashboard.overview(a, d)
                return [overview.requests]

            name = f"dashboard service, {who}, last {days} days"
            results[name] = await sr.timed(runs, board)
            print(f"  {name}: {results[name]}", flush=True)
    overview = await service.dashboard.overview(MASTER_ACTOR, 30)
    results["_last 30 days"] = {"requests": overview.requests, "latency_sampled": overview.latency_sampled}
    return results


async def measure_pages(url: str, runs: int, workdir: Path) -> dict[str, Any]:
    port = sr.free_port()
    config = workdir / "switchgear-ui.yaml"
    config.write_text(
        "server:\n"
        f"  host: 127.0.0.1\n  port: {port}\n  master_key: {sr.MASTER}\n  access_log: false\n"
        "providers:\n  up: {type: openai, base_url: 'http://127.0.0.1:9/v1', api_key: sk-none}\n"
        "models:\n  - {name: m, deployments: [{provider: up, model: m}]}\n"
        f"storage:\n  database_url: '{url}'\n"
    )
    gateway = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "switchgear.cli", "serve", "--config", str(config), "--log-level", "warning"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    results: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health")).status_code < 500:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            form = await client.get("/ui/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token is not None, form.text[:500]
            signed = await client.post("/ui/login", data={"key": sr.MASTER, "csrf": token.group(1)})
            assert signed.status_code == 303, signed.text[:500]

            async def get(path: str) -> list[Any]:
                response = await client.get(path)
                response.raise_for_status()
                return [len(response.content)]

            pages = [f"/ui/overview?days={d}" for d in DAYS]
            pages += ["/ui/requests", "/ui/requests?key_id=key-0500", "/ui/spend?group_by=key"]
            for path in pages:
                name = f"GET {path} (whole page)"
                t0 = time.perf_counter()
                await get(path)  # the first load of this page since the gateway started
                first = round((time.perf_counter() - t0) * 1000, 1)
                results[name] = {**await sr.timed(runs, lambda p=path: get(p)), "first_ms": first}  # type: ignore[misc]
                print(f"  {name}: {results[name]}", flush=True)
    finally:
        gateway.terminate()
        await asyncio.wait_for(gateway.wait(), timeout=20)
    return results


def write_results(out: Path, label: str, payload: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"ui-dashboard-{label}-{payload['stamp']}"
    base.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    size = payload["size"]
    lines = [
        f"# Admin UI dashboard at {size['spend_log_rows']:,} logged requests: {label}",
        "",
        f"{payload['stamp']} · commit {payload['commit']} · {payload['machine']}",
        "",
        f"Traffic: {payload['first_day']} to {payload['last_day']}; {size['spend_daily_rows']:,} spend_daily rows. "
        f"Runs: {payload['runs']} warm, after one warm-up; times in ms.",
        "",
        "| what | median ms | max ms | first load ms |",
        "|---|---:|---:|---:|",
    ]
    for section in ("service", "http"):
        for name, r in payload.get(section, {}).items():
            if not name.startswith("_"):
                lines.append(f"| {name} | {r['median_ms']} | {r['max_ms']} | {r.get('first_ms', '')} |")
    base.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return base


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--path", default=str(Path(tempfile.gettempdir()) / "switchgear-ui-bench.db"))
    parser.add_argument("--pg-name", default="switchgear_ui_bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()

    today = datetime.now(UTC).date()
    sr.FIRST_DAY = today - timedelta(days=sr.DAYS - 1)  # the traffic ends today
    if args.db == "sqlite":
        if not args.reuse:
            sr.remove_sqlite(args.path)
        url = f"sqlite:///{args.path}"
    else:
        url = await sr.postgres_database(args.url, args.pg_name, fresh=not args.reuse)
    db = Database.open(url)
    payload: dict[str, Any] = {
        "stamp": datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        "commit": sr.commit(),
        "machine": sr.machine(),
        "database": args.db,
        "first_day": str(sr.FIRST_DAY),
        "last_day": str(today),
        "runs": args.runs,
    }
    try:
        await migrate.upgrade(db)
        if not args.reuse:
            population = sr.Population(sr.random.Random(7), keys=1000, users=100, teams=20, orgs=5, models=30)
            print(f"filling {args.rows:,} rows over {sr.FIRST_DAY} to {today}", flush=True)
            payload["fill"] = await sr.fill(db, population, args.rows, args.batch, seed=1)
            if db.dialect == "postgresql":
                async with db.write() as conn:
                    await conn.exec_driver_sql("ANALYZE")
        payload["size"] = await sr.rollup_size(db)
        print(f"sizes: {payload['size']}", flush=True)
        print("dashboard service:", flush=True)
        payload["service"] = await measure_service(db, args.runs)
        print("pages over HTTP:", flush=True)
        with tempfile.TemporaryDirectory() as workdir:
            payload["http"] = await measure_pages(url, args.runs, Path(workdir))
        payload["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        await db.close()
        if not args.keep:
            if args.db == "sqlite":
                sr.remove_sqlite(args.path)
            else:
                await sr.drop_postgres(args.url, args.pg_name)
    base = write_results(Path(args.out), args.db, payload)
    print(f"results: {base}.md / .json")


if __name__ == "__main__":
    asyncio.run(main())
