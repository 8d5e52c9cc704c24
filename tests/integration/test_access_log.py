"""The access log as a newcomer sees it: `switchgear serve` prints one line per request, text or
JSON, timestamped, with uvicorn's own lines in the same format, and never a secret or a prompt."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY
from tests.fakes.gateway import closed_port
from tests.integration.test_cli import _wait

CLI = [sys.executable, "-m", "switchgear.cli"]
PROMPT = "my very private prompt"
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def serve_and_log(sim: SimulatorThread, tmp_path: Path, log_format: str) -> str:
    port = closed_port()
    config = {
        "server": {"port": port, "log_format": log_format},
        "providers": {"sim": {"type": "openai", "base_url": sim.base_url + "/v1", "api_key": UPSTREAM_KEY}},
        "models": [
            {
                "name": "fast",
                "deployments": [{"provider": "sim", "model": "sim-small"}],
                "pricing": {"input": "1", "output": "2"},
            }
        ],
    }
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    gateway = subprocess.Popen(
        [*CLI, "serve", "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health/live")
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        ok = httpx.post(
            url,
            json={"model": "fast", "messages": [{"role": "user", "content": PROMPT}]},
            headers={"x-request-id": "rid-ok", "x-switchgear-tags": "demo"},
        )
        assert ok.status_code == 200
        failed = httpx.post(
            url,
            json={"model": "sim/sim-small;status=503", "messages": [{"role": "user", "content": PROMPT}]},
            headers={"x-request-id": "rid-failed"},
        )
        assert failed.status_code == 503
    finally:
        gateway.send_signal(signal.SIGTERM)
        _, err = gateway.communicate(timeout=30)
    assert gateway.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises the SIGTERM it handled
    assert PROMPT not in err and UPSTREAM_KEY not in err
    return err


def test_text_access_log(sim: SimulatorThread, tmp_path: Path) -> None:
    err = serve_and_log(sim, tmp_path, "text")
    lines = [line for line in err.splitlines() if re.match(TIMESTAMP, line)]
    ok = next(line for line in lines if "rid-ok" in line)
    assert re.fullmatch(
        TIMESTAMP + r" INFO switchgear\.access: rid-ok chat model=fast provider=sim served_model=sim-small "
        r"status=200 attempts=1 prompt_tokens=\d+ completion_tokens=\d+ cost=\$0\.\d+ "
        r"duration=\d+\.\dms ttfb=\d+\.\dms",
        ok,
    ), ok
    failed = next(line for line in lines if "rid-failed" in line)
    assert "status=503 error=overloaded" in failed
    assert any(
        re.match(TIMESTAMP + r" INFO uvicorn\.error: Application startup complete", line) for line in lines
    )


def test_json_access_log(sim: SimulatorThread, tmp_path: Path) -> None:
    err = serve_and_log(sim, tmp_path, "json")
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert entries and all(re.fullmatch(TIMESTAMP, e["ts"]) for e in entries)
    ok = next(e for e in entries if e.get("request_id") == "rid-ok")
    assert ok["logger"] == "switchgear.access" and ok["level"] == "info"
    assert ok["model"] == "fast" and ok["provider"] == "sim" and ok["status"] == 200
    assert ok["prompt_tokens"] > 0 and ok["cost_usd"] > 0 and ok["ttfb_ms"] > 0
    failed = next(e for e in entries if e.get("request_id") == "rid-failed")
    assert failed["status"] == 503 and failed["error"] == "overloaded"
    assert any(e["logger"].startswith("uvicorn") for e in entries)


@pytest.mark.parametrize("log_format", ["text"])
def test_access_log_can_be_turned_off(sim: SimulatorThread, tmp_path: Path, log_format: str) -> None:
    port = closed_port()
    path = tmp_path / "quiet.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "server": {"port": port, "access_log": False},
                "providers": {"sim": {"type": "openai", "base_url": sim.base_url + "/v1", "api_key": "k"}},
            }
        )
    )
    gateway = subprocess.Popen(
        [*CLI, "serve", "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health/live")
        body = {"model": "sim/sim-small", "messages": [{"role": "user", "content": "x"}]}
        httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions", json=body, headers={"x-request-id": "rid-q"}
        )
    finally:
        gateway.send_signal(signal.SIGTERM)
        _, err = gateway.communicate(timeout=30)
    assert "rid-q" not in err and "switchgear.access" not in err
