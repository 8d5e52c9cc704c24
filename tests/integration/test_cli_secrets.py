"""``serve`` and ``config check`` print where providers are without the secrets in their URLs (K1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.gateway import closed_port
from tests.integration.test_cli import CLI, _wait, run

PASSWORD = "url-Pa55word-77"
QUERY_KEY = "AIzaQueryKey-0123456789"
SIG = "sv-sig-Zx81Lr02"
CONFIG = f"""
providers:
  behind-auth:
    type: openai
    base_url: https://alice:{PASSWORD}@llm.example/v1?api-version=2024-10-21&key={QUERY_KEY}&sig={SIG}
    api_key: pk-live-Zq81xLr02Vb7Nm3Kd9Tc
  token-user:
    type: vllm
    base_url: https://ghp-Tok3nUser-998877@llm2.example/v1
models:
  - name: fast
    deployments: [{{provider: behind-auth, model: m}}]
"""
SECRETS = (PASSWORD, QUERY_KEY, SIG, "ghp-Tok3nUser-998877", "pk-live-Zq81xLr02Vb7Nm3Kd9Tc")
SHOWN = (
    "behind-auth: OpenAI at https://alice:***@llm.example/v1?api-version=2024-10-21&key=***&sig=***",
    "token-user: vLLM at https://***@llm2.example/v1",
)


def check(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, output
    for line in SHOWN:
        assert line in output, output


def test_config_check_masks_url_credentials_and_secret_query_values(tmp_path: Path) -> None:
    config = tmp_path / "switchgear.yaml"
    config.write_text(CONFIG)
    result = run("config", "check", str(config))
    assert result.returncode == 0, result.stderr
    check(result.stdout + result.stderr)


def test_serve_start_up_summary_masks_them_too(tmp_path: Path) -> None:
    config = tmp_path / "switchgear.yaml"
    config.write_text(CONFIG)
    port = closed_port()
    gateway = subprocess.Popen(
        [*CLI, "serve", "--config", str(config), "--port", str(port), "--log-level", "debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health/live")
    finally:
        gateway.send_signal(signal.SIGTERM)
        out, err = gateway.communicate(timeout=30)
    check(out + err)


def test_a_discovered_base_url_is_masked_as_well() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))},
        "OPENAI_API_KEY": "sk-env-discovered-1234",
        "OPENAI_BASE_URL": f"https://bob:{PASSWORD}@llm.example/v1",
    }
    port = closed_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "switchgear.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/health/live")
    finally:
        gateway.send_signal(signal.SIGTERM)
        out, err = gateway.communicate(timeout=30)
    assert "openai: OpenAI at https://bob:***@llm.example/v1" in err
    assert PASSWORD not in out + err and "sk-env-discovered-1234" not in out + err
