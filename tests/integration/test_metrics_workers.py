"""``switchgear serve --workers 2``: every worker counts in its own files of one directory per run,
and a scrape answered by either worker sums them all."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.served import ServedGateway
from tests.integration.test_metrics import metrics_config, scrape, value

REQUESTS = 60
BODY = {"model": "m1", "messages": [{"role": "user", "content": "hi"}]}


def one(url: str) -> int:
    with httpx.Client(timeout=10) as client:  # a connection of its own: either worker may take it
        return client.post(url + "/v1/chat/completions", json=BODY).status_code


def test_two_workers_add_up(sim: SimulatorThread, tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"stale: an earlier run's file is removed at start")
    config = metrics_config(sim, metrics={"multiprocess_dir": str(shared)})
    gateway = ServedGateway(config, "--workers", "2").start()
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: one(gateway.url), range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        scrapes = []
        for _ in range(40):  # until both workers have settled everything
            s = scrape(gateway.url)
            if value(s, "switchgear_requests_total") == REQUESTS:
                scrapes.append(s)
                if len(scrapes) == 6:
                    break
        assert len(scrapes) == 6, "the scrapes never added up to every request"
        # each worker wrote its own counter file: both served, and every scrape summed both
        pids = {re.sub(r"\D", "", p.name) for p in shared.glob("counter_*.db")}
        assert len(pids) == 2, sorted(p.name for p in shared.iterdir())
        for s in scrapes:
            m1 = {"model": "m1", "provider": "sim", "status_class": "2xx"}
            assert value(s, "switchgear_requests_total", **m1) == REQUESTS
            assert value(s, "switchgear_tokens_total", direction="input") == 10 * REQUESTS
            assert value(s, "switchgear_request_duration_seconds_count") == REQUESTS
            assert value(s, "switchgear_in_flight_requests") == 0
        summary = httpx.get(gateway.url + "/metrics/summary", timeout=5).json()
        assert summary["totals"]["requests"] == REQUESTS
        assert summary["totals"]["cost_usd"] == round(REQUESTS * 0.00002, 9)
    finally:
        assert gateway.stop() == 0, gateway.stderr()


def test_the_run_directory_is_made_and_removed(
    sim: SimulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the run's temporary directory is made
    gateway = ServedGateway(metrics_config(sim), "--workers", "2").start()
    try:
        made = list(tmp_path.glob("switchgear-metrics-*"))
        assert len(made) == 1 and made[0].is_dir()
        assert [one(gateway.url) for _ in range(10)] == [200] * 10
        for _ in range(40):
            if value(scrape(gateway.url), "switchgear_requests_total") == 10:
                break
        assert value(scrape(gateway.url), "switchgear_requests_total") == 10
        assert list(made[0].glob("*.db"))
    finally:
        assert gateway.stop() == 0, gateway.stderr()
    assert not made[0].exists()
