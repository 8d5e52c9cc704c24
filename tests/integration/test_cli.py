"""The `switchgear` command as a user runs it: config check, version, simulate + serve (workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes.gateway import closed_port

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "switchgear.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_version_and_help() -> None:
    assert run("version").stdout.startswith("switchgear ")
    for args in (["--help"], ["serve", "--help"], ["config", "check", "--help"], ["simulate", "--help"]):
        assert run(*args).returncode == 0


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag(flag: str) -> None:
    result = run(flag)
    assert result.returncode == 0
    assert result.stdout.startswith("switchgear ") and result.stdout == run("version").stdout


@pytest.mark.parametrize("args", [["-h"], ["serve", "-h"], ["config", "-h"], ["config", "check", "-h"]])
def test_short_help_flag(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == run(*args[:-1], "--help").stdout and "Usage:" in result.stdout


def test_config_check_prints_a_summary_without_secrets(tmp_path: Path) -> None:
    result = run("config", "check", str(ROOT / "examples/demo.yaml"))
    assert result.returncode == 0, result.stderr
    assert "fast -> sim/sim-small, sim-eu/sim-small" in result.stdout
    assert "sk-sim-demo" not in result.stdout


def test_config_check_fails_with_the_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("providers:\n  openai: {type: openai, api_key: sk-canary-123456, base_urll: x}\n")
    result = run("config", "check", str(bad))
    assert result.returncode == 2
    assert "providers.openai.base_urll: unknown key (did you mean 'base_url'?)" in result.stderr
    assert "sk-canary-123456" not in result.stderr + result.stdout
    unset = tmp_path / "unset.yaml"
    unset.write_text("providers:\n  openai: {type: openai, api_key: ${SWITCHGEAR_TEST_UNSET_VAR}}\n")
    result = run("config", "check", str(unset))
    assert result.returncode == 2
    assert (
        "providers.openai.api_key: environment variable SWITCHGEAR_TEST_UNSET_VAR is not set" in result.stderr
    )


def test_config_check_validates_each_provider_as_its_family(tmp_path: Path) -> None:
    good = tmp_path / "families.yaml"
    good.write_text(
        "providers:\n"
        "  aws: {type: bedrock, region: '${AWS_REGION}', aws_access_key_id: AKID,"
        " aws_secret_access_key: sk-canary-aws-123456}\n"
        "  gcp: {type: vertex, project: acme, location: europe-west4, api_key: ya29.canary}\n"
        "  az: {type: azure, api_key: k, base_url: 'https://contoso.openai.azure.com',"
        " api_version: 2025-01-01}\n"  # unquoted: a YAML date
    )
    result = run("config", "check", str(good), env={**os.environ, "AWS_REGION": "eu-west-1"})
    assert result.returncode == 0, result.stderr
    assert (
        "  aws: AWS Bedrock at https://bedrock-runtime.eu-west-1.amazonaws.com (static keys in config)"
        in result.stdout
    )
    assert (
        "  gcp: Google Vertex AI at https://europe-west4-aiplatform.googleapis.com (access token in config)"
        in result.stdout
    )
    assert "  az: Azure OpenAI at https://contoso.openai.azure.com (key set)" in result.stdout
    assert "canary" not in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "providers:\n"
        "  oa: {type: openai, api_key: sk-canary-123456, region: us-east-1}\n"
        "  gcp: {type: vertex, location: us-central1, api_key: ya29.canary}\n"
    )
    result = run("config", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: invalid configuration:",
        "  providers.oa.region: unknown key (region is a key of type 'bedrock', not of 'openai'); "
        "allowed: type, base_url, api_key, headers, timeouts, proxy, tls",
        "  providers.gcp.project: required for type 'vertex'",
    ]


def _wait(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture()
def demo() -> Iterator[str]:
    """`switchgear simulate` and `switchgear serve --workers 2 --config examples/demo.yaml`."""
    sim_port, gw_port = closed_port(), closed_port()
    env = {**os.environ, "SIM_URL": f"http://127.0.0.1:{sim_port}"}
    sim = subprocess.Popen(
        [*CLI, "simulate", "--port", str(sim_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gateway = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--config",
            str(ROOT / "examples/demo.yaml"),
            "--port",
            str(gw_port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(f"http://127.0.0.1:{sim_port}/health")
        _wait(f"http://127.0.0.1:{gw_port}/health/live")
        yield f"http://127.0.0.1:{gw_port}"
    finally:
        gateway.send_signal(signal.SIGTERM)
        sim.send_signal(signal.SIGTERM)
        _, err = gateway.communicate(timeout=30)
        sim.wait(timeout=30)
        assert gateway.returncode == 0, err
        assert "Traceback" not in err


def test_demo_serves_the_quick_start_with_two_workers(demo: str) -> None:
    with openai.OpenAI(base_url=demo + "/v1", api_key="anything", max_retries=0) as client:
        answer = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "Hello! You said: hi"
        stream = client.chat.completions.create(
            model="reliable", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello! You said: hi"
        assert {m.id for m in client.models.list()} >= {"fast", "smart", "reliable", "embed", "claude"}
        for model in ("claude", "gemini", "bedrock-claude", "command"):
            answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            assert answer.choices[0].message.content == "Hello! You said: hi"
    pids = {httpx.get(demo + "/health/ready").status_code for _ in range(5)}
    assert pids == {200}


def test_serve_refuses_a_busy_port() -> None:
    with subprocess.Popen(
        [*CLI, "simulate", "--port", str(port := closed_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as sim:
        try:
            _wait(f"http://127.0.0.1:{port}/health")
            result = run("serve", "--config", str(ROOT / "examples/demo.yaml"), "--port", str(port))
            assert result.returncode == 2
            assert "cannot listen" in result.stderr
            assert "listening on" not in result.stderr  # the banner follows a successful bind only
        finally:
            sim.terminate()


def test_serve_without_config_discovers_providers_from_the_environment() -> None:
    sim_port, gw_port = closed_port(), closed_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))},
        "OPENAI_API_KEY": "sk-env-discovered-1234",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{sim_port}/v1",
    }
    with subprocess.Popen(
        [*CLI, "simulate", "--port", str(sim_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as sim:
        gateway = subprocess.Popen(
            [*CLI, "serve", "--port", str(gw_port), "--log-level", "warning"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait(f"http://127.0.0.1:{sim_port}/health")
            _wait(f"http://127.0.0.1:{gw_port}/health/live")
            with openai.OpenAI(
                base_url=f"http://127.0.0.1:{gw_port}/v1", api_key="x", max_retries=0
            ) as client:
                answer = client.chat.completions.create(
                    model="openai/sim-small", messages=[{"role": "user", "content": "hi"}]
                )
            assert answer.choices[0].message.content == "Hello! You said: hi"
        finally:
            gateway.send_signal(signal.SIGTERM)
            _, err = gateway.communicate(timeout=30)
            sim.terminate()
    assert "discovered OpenAI: found OPENAI_API_KEY" in err
    assert "sk-env-discovered-1234" not in err
    assert err.count("requests are not authenticated") == 1
    assert err.index("requests are not authenticated") < err.index(f"listening on http://127.0.0.1:{gw_port}")


# --- who may start where ------------------------------------------------------------------------

UNASSIGNED = "192.0.2.1"  # TEST-NET-1: not loopback, and never this machine's, so binding fails


def _config(tmp_path: Path, server: str) -> str:
    path = tmp_path / "server.yaml"
    path.write_text(f"server: {{{server}}}\nproviders:\n  p: {{type: openai, api_key: sk-upstream-x}}\n")
    return str(path)


def test_serve_beyond_loopback_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    result = run("serve", "--config", _config(tmp_path, "port: 4999"), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "refusing to serve 0.0.0.0:4999 without authentication" in result.stderr
    assert "server.allow_unauthenticated: true" in result.stderr
    assert "listening on" not in result.stderr


def test_allow_unauthenticated_starts_with_a_warning(tmp_path: Path) -> None:
    config = _config(tmp_path, f"host: {UNASSIGNED}, allow_unauthenticated: true")
    result = run("serve", "--config", config)
    assert f"warning: requests are not authenticated on {UNASSIGNED}:4000" in result.stderr
    assert "cannot listen" in result.stderr  # it went on to bind (an address this machine lacks)


@pytest.mark.parametrize("key", ["changeme", "sk-12345"])
def test_a_weak_master_key_is_refused_beyond_loopback(tmp_path: Path, key: str) -> None:
    result = run("serve", "--config", _config(tmp_path, f"host: {UNASSIGNED}, master_key: {key}"))
    assert result.returncode == 2
    assert "server.master_key is a well-known default: refusing to serve" in result.stderr
    assert key not in result.stderr


def test_a_weak_master_key_on_loopback_is_a_warning(tmp_path: Path) -> None:
    result = run("config", "check", _config(tmp_path, "master_key: changeme"))
    assert result.returncode == 0, result.stderr
    assert "warning: server.master_key is a well-known default; fine on loopback only" in result.stderr


# --- config check ------------------------------------------------------------------------------


def test_config_check_reports_every_problem_in_one_pass(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "server: {port: 99999, max_body_size: 20, master_key: ${SWITCHGEAR_TEST_UNSET_KEY}}\n"
        "providers:\n"
        "  good: {type: openai, api_key: sk-canary-123456}\n"
        "  odd: {type: not-a-vendor, api_key: sk-canary-123456}\n"
        "  typo: {type: openai, base_urll: http://x}\n"
        "models:\n"
        "  - {name: a, deployments: [{provider: good, model: m}, {provider: missing, model: m}]}\n"
        "  - {name: a, deployments: [{provider: good, model: m}]}\n"
    )
    result = run("config", "check", str(bad))
    assert result.returncode == 2
    for line in [
        "server.master_key: environment variable SWITCHGEAR_TEST_UNSET_KEY is not set",
        "server.port: Input should be less than or equal to 65535",
        "server.max_body_size: a size needs a unit: write e.g. '20MB'",
        "providers.typo.base_urll: unknown key (did you mean 'base_url'?)",
        "models[0].deployments[1].provider: unknown provider 'missing'",
        "models[1].name: model 'a' is defined twice",
        "providers.odd.type: unknown type 'not-a-vendor'",
    ]:
        assert line in result.stderr, (line, result.stderr)
    assert result.stderr.count("\n  ") == 7  # one line per problem
    assert "sk-canary-123456" not in result.stderr + result.stdout


@pytest.mark.parametrize("text", ["", "{}\n", "server: {port: 4000}\n"])
def test_config_check_warns_about_an_empty_configuration(tmp_path: Path, text: str) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(text)
    result = run("config", "check", str(empty))
    assert result.returncode == 0
    assert "is empty: no providers and no models" in result.stderr


# --- scripts/demo.sh ---------------------------------------------------------------------------


def test_demo_script_stopped_with_kill_stops_the_gateway_and_the_simulator() -> None:
    sim_port, gw_port = closed_port(), closed_port()
    env = {**os.environ, "SWITCHGEAR": f"{sys.executable} -m switchgear.cli", "SIM_PORT": str(sim_port)}
    script = subprocess.Popen(
        ["bash", str(ROOT / "scripts/demo.sh"), "--port", str(gw_port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(f"http://127.0.0.1:{sim_port}/health")
        _wait(f"http://127.0.0.1:{gw_port}/health/live")
        script.send_signal(signal.SIGTERM)  # what `kill <pid>` sends
        script.wait(timeout=30)
    finally:
        if script.poll() is None:
            script.kill()
    for port in (gw_port, sim_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
