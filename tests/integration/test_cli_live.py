"""``switchgear status`` and ``switchgear logs`` as an operator runs them, against a running gateway
(the simulated providers behind it, the official SDK sending the requests)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread, closed_port
from tests.integration.test_metrics import DEPLOYMENT, MESSAGES, metrics_config, wait_for

CLI = [sys.executable, "-m", "switchgear.cli"]
MASTER = "sk-master-live-0123456789abcdef"
ENV = {**os.environ, "COLUMNS": "220", "PYTHONUNBUFFERED": "1"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=env or ENV, check=False
    )


def send(url: str, model: str, count: int, key: str = "k", prefix: str = "req") -> list[str]:
    ids = []
    with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=10) as client:
        for i in range(count):
            rid = f"{prefix}-{i}"
            with contextlib.suppress(openai.APIStatusError):  # a failure is logged all the same
                client.chat.completions.create(
                    model=model, messages=MESSAGES, extra_headers={"x-request-id": rid}
                )
            ids.append(rid)
    return ids


@pytest.fixture()
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(metrics_config(sim)).start()
    send(gateway.url, "m1", 3)
    send(gateway.url, "all-down", 1, prefix="bad")
    wait_for(gateway.url, "switchgear_requests_total", 4)
    yield gateway
    gateway.stop()


def test_status_prints_the_live_summary_as_tables(gw: GatewayThread) -> None:
    done = run("status", "--url", gw.url)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"switchgear at {gw.url}" in out
    assert "requests" in out and "in flight" in out and "by model and deployment" in out
    m1 = next(line for line in out.splitlines() if DEPLOYMENT in line)
    cells = [c.strip() for c in m1.split("│") if c.strip()]
    assert cells[:4] == ["m1", DEPLOYMENT, "3", "0"]
    assert cells[-3:] == ["30", "15", "0.000060"]  # tokens in, out, cost
    assert "errors by type" in out and "overloaded" in out
    assert "1 (25.0%)" in out  # one error of four requests

    as_json = run("status", "--url", gw.url, "--json")
    summary = json.loads(as_json.stdout)
    assert summary["totals"]["requests"] == 4 and summary["totals"]["errors"] == 1


def test_status_watch_redraws_until_interrupted(gw: GatewayThread) -> None:
    watching = subprocess.Popen(
        [*CLI, "status", "--url", gw.url, "--watch", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(watching.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()

    def shown(requests: str) -> bool:  # a table whose m1 row counts this many requests
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for line in list(out):
                cells = [c.strip() for c in line.split("│") if c.strip()]
                if DEPLOYMENT in cells and cells[2] == requests:
                    return True
            time.sleep(0.05)
        return False

    try:
        assert shown("3"), "the first table never came"
        send(gw.url, "m1", 2, prefix="more")
        assert shown("5"), "the tables were not printed again with the new requests"
    finally:
        watching.send_signal(signal.SIGINT)
        _, err = watching.communicate(timeout=20)
        reader.join(timeout=5)
    assert watching.returncode == 0, err
    assert "Traceback" not in err


def test_status_watch_on_a_terminal_redraws_in_place(gw: GatewayThread) -> None:
    main, child = pty.openpty()
    watching = subprocess.Popen(
        [*CLI, "status", "--url", gw.url, "--watch", "0.2"],
        stdin=child,
        stdout=child,
        stderr=subprocess.PIPE,
        env={**ENV, "TERM": "xterm-256color"},
    )
    os.close(child)
    screen = b""
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and screen.count(b"by model and deployment") < 3:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                screen += os.read(main, 65536)
    finally:
        watching.send_signal(signal.SIGINT)
        _, err = watching.communicate(timeout=20)
        os.close(main)
    assert watching.returncode == 0, err
    assert screen.count(b"by model and deployment") >= 3  # drawn, then redrawn
    assert b"\x1b[" in screen  # cursor movement: in place, not appended


def test_status_says_what_is_wrong(sim: SimulatorThread) -> None:
    nobody = run("status", "--url", f"http://127.0.0.1:{closed_port()}")
    assert nobody.returncode == 1 and "cannot reach the gateway at" in nobody.stderr
    config = metrics_config(sim, metrics={"require_key": True})
    config["server"] = {"master_key": MASTER}
    config["governance"] = {"enabled": False}
    gateway = GatewayThread(config).start()
    try:
        refused = run("status", "--url", gateway.url)
        assert refused.returncode == 1
        assert "/metrics/summary: HTTP 401: missing API key" in refused.stderr
        assert run("status", "--url", gateway.url, "--key", MASTER, "--json").returncode == 0
        from_env = run(
            "status", "--json", env={**ENV, "SWITCHGEAR_URL": gateway.url, "SWITCHGEAR_MASTER_KEY": MASTER}
        )
        assert from_env.returncode == 0 and json.loads(from_env.stdout)["totals"]["requests"] == 0
        off = run("logs", "--url", gateway.url, "--key", MASTER)
        assert off.returncode == 1 and "governance" in off.stderr
    finally:
        gateway.stop()
    gateway = GatewayThread(metrics_config(sim, metrics={"enabled": False})).start()
    try:
        no_metrics = run("status", "--url", gateway.url)
        assert no_metrics.returncode == 1
        assert "metrics are off (observability.metrics.enabled: false)" in no_metrics.stderr
    finally:
        gateway.stop()


@pytest.fixture()
def governed(sim: SimulatorThread, tmp_path: Path) -> Iterator[GatewayThread]:
    config: dict[str, Any] = metrics_config(sim)
    config["server"] = {"master_key": MASTER}
    config["storage"] = {"database_url": f"sqlite:///{tmp_path / 'gateway.db'}"}
    config["governance"] = {"spend_log": {"flush_interval": "100ms"}}
    gateway = GatewayThread(config).start()
    yield gateway
    gateway.stop()


def wait_logged(url: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = run("logs", "--url", url, "--key", MASTER, "-n", "100", "--json")
        if done.returncode == 0 and len(done.stdout.splitlines()) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} requests were logged")


def test_logs_prints_the_latest_requests_oldest_first(governed: GatewayThread) -> None:
    send(governed.url, "m1", 3, key=MASTER)
    send(governed.url, "all-down", 1, key=MASTER, prefix="bad")
    wait_logged(governed.url, 4)
    done = run("logs", "--url", governed.url, "--key", MASTER)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["req-0", "req-1", "req-2", "bad-0"]
    assert f" 200 chat model=m1 deployment={DEPLOYMENT} attempts=1 tokens=10/5 cost=$0.00002" in lines[0]
    assert " 503 chat model=all-down " in lines[3] and "error=overloaded attempts=2" in lines[3]
    failed = run("logs", "--url", governed.url, "--key", MASTER, "--failed", "--json")
    assert [json.loads(line)["request_id"] for line in failed.stdout.splitlines()] == ["bad-0"]
    two = run("logs", "--url", governed.url, "--key", MASTER, "-n", "2")
    assert [line.split()[1] for line in two.stdout.splitlines()] == ["req-2", "bad-0"]
    refused = run("logs", "--url", governed.url)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr


def test_logs_follow_prints_each_new_request_once(governed: GatewayThread) -> None:
    send(governed.url, "m1", 2, key=MASTER, prefix="old")
    wait_logged(governed.url, 2)
    following = subprocess.Popen(
        [*CLI, "logs", "--url", governed.url, "--key", MASTER, "--follow", "-n", "1", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(following.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:  # the command has started and looked once
            time.sleep(0.05)
        send(governed.url, "m1", 3, key=MASTER, prefix="new")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(seen) < 4:
            time.sleep(0.1)
        time.sleep(1.0)  # a few more looks: nothing is printed twice
    finally:
        following.send_signal(signal.SIGINT)
        _, err = following.communicate(timeout=20)
    reader.join(timeout=5)
    assert following.returncode == 0, err
    assert [line.split()[1] for line in seen] == ["old-1", "new-0", "new-1", "new-2"]
