"""`switchgear serve` and `config check` with cloud credentials, as a user runs them: what the summary
says about where each provider's credentials come from (never the secret), discovery of ``AWS_*``
variables without a config, SSO and the GCE metadata server (sources the SDKs locate when they are
imported, so they are tried in a fresh process), and the configuration error without the extra."""

from __future__ import annotations

import hashlib
import json
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

from switchgear.simulator.server import SimulatorThread
from tests.fakes.aws import BedrockSimulator, CredentialEndpoints
from tests.fakes.gateway import closed_port
from tests.fakes.gce import TokenServer

CLI = [sys.executable, "-m", "switchgear.cli"]
# The command line in an environment where the switchgear[bedrock] extra is not installed.
WITHOUT_BOTOCORE = [
    sys.executable,
    "-c",
    "import sys; sys.modules['botocore'] = None; from switchgear.cli.main import main; "
    "sys.argv[0] = 'switchgear'; main()",
]
MODEL = "anthropic.claude-sim-v1:0"


def run(
    *args: str, env: dict[str, str] | None = None, cli: list[str] = CLI
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli, *args], capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.fixture
def endpoints() -> Iterator[CredentialEndpoints]:
    served = CredentialEndpoints().start()
    yield served
    served.stop()


def test_config_check_says_where_credentials_come_from(
    tmp_path: Path, endpoints: CredentialEndpoints
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-canary-secret\n")
    token = tmp_path / "token"
    token.write_text("irsa-canary-token")
    config = tmp_path / "switchgear.yaml"
    config.write_text(
        "providers:\n"
        "  static: {type: bedrock, aws_access_key_id: AKIDSTATIC, aws_secret_access_key: sk-canary-1}\n"
        "  dev: {type: bedrock, region: eu-west-1, profile: dev}\n"
        "  chain: {type: bedrock}\n"
        "  sa: {type: vertex, project: acme, credentials_file: /etc/switchgear/sa.json}\n"
    )
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    cases = {
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::1:role/b)": {
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ROLE_ARN": "arn:aws:iam::1:role/b",
        },
        "container credentials endpoint": {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoints.url + "/container"
        },
        "instance metadata (IMDS)": {
            "AWS_EC2_METADATA_DISABLED": "false",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": endpoints.url + "/",
        },
        "environment AWS_ACCESS_KEY_ID": {
            "AWS_ACCESS_KEY_ID": "AKIDENV",
            "AWS_SECRET_ACCESS_KEY": "env-canary-secret",
        },
    }
    for where, variables in cases.items():
        result = run("config", "check", str(config), env={**env, **variables})
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert (
            "  static: AWS Bedrock at https://bedrock-runtime.us-east-1.amazonaws.com (static keys in config)"
            in out
        )
        assert (
            "  dev: AWS Bedrock at https://bedrock-runtime.eu-west-1.amazonaws.com "
            f"(profile 'dev' from {credentials})" in out
        )
        assert f"  chain: AWS Bedrock at https://bedrock-runtime.us-east-1.amazonaws.com ({where})" in out
        assert (
            "  sa: Google Vertex AI at https://aiplatform.googleapis.com "
            "(service account file /etc/switchgear/sa.json)" in out
        )
        assert "canary" not in out + result.stderr
    assert not any(issue.source == "sts" for issue in endpoints.issues)  # describing assumes no role


def test_without_the_extra_static_keys_work_and_the_chain_says_what_to_install(tmp_path: Path) -> None:
    config = tmp_path / "switchgear.yaml"
    config.write_text(
        "providers:\n"
        "  static: {type: bedrock, aws_access_key_id: AKIDSTATIC, aws_secret_access_key: sk-canary-1}\n"
    )
    result = run("config", "check", str(config), cli=WITHOUT_BOTOCORE)
    assert result.returncode == 0, result.stderr
    assert "(static keys in config)" in result.stdout
    config.write_text(
        "providers:\n  aws: {type: bedrock, region: eu-west-1}\n  dev: {type: bedrock, profile: dev}\n"
    )
    result = run("config", "check", str(config), cli=WITHOUT_BOTOCORE)
    assert result.returncode == 2
    assert result.stderr == (
        "error: invalid configuration:\n"
        "  providers.aws: bedrock has no aws_access_key_id and aws_secret_access_key (or api_key, a Bedrock "
        "API key); without them, the AWS credential chain (environment, profiles, web identity, SSO, "
        "container and instance metadata), which needs botocore: pip install 'switchgear[bedrock]'\n"
        "  providers.dev: bedrock has no aws_access_key_id and aws_secret_access_key (or api_key, a Bedrock "
        "API key); profile 'dev' needs the AWS credential chain (environment, profiles, web identity, SSO, "
        "container and instance metadata), which needs botocore: pip install 'switchgear[bedrock]'\n"
    )


class Served:
    """`switchgear serve` in a subprocess, stopped with SIGTERM; ``err`` is what it printed."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--log-level", "info", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the gateway did not come up:\n{self.err}")

    def chat(self, model: str) -> str:
        with openai.OpenAI(base_url=self.url + "/v1", api_key="k", max_retries=0, timeout=20) as client:
            answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        return answer.choices[0].message.content or ""

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        _, self.err = self.process.communicate(timeout=30)


def test_serve_discovers_aws_variables_without_a_config(endpoints: CredentialEndpoints) -> None:
    endpoints.issued["AKIDENV"] = "env-canary-secret"
    bedrock = BedrockSimulator(endpoints.issued).start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))},
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": "env-canary-secret",
        "AWS_REGION": "eu-central-1",
        "BEDROCK_BASE_URL": bedrock.url,
    }
    try:
        served = Served(env=env)
        try:
            assert served.chat(f"bedrock/{MODEL}")
        finally:
            served.stop()
    finally:
        bedrock.stop()
    assert bedrock.signed_with() == ["AKIDENV"]
    assert (
        "discovered AWS Bedrock: found AWS_ACCESS_KEY_ID, region eu-central-1; credentials from the AWS "
        "credential chain" in served.err
    )
    assert f"  bedrock: AWS Bedrock at {bedrock.url} (environment AWS_ACCESS_KEY_ID)" in served.err
    assert "provider 'bedrock': AWS credentials from environment AWS_ACCESS_KEY_ID" in served.err
    assert "canary" not in served.err


def test_serve_with_credentials_from_the_sso_cache(tmp_path: Path, endpoints: CredentialEndpoints) -> None:
    start_url = "https://acme.awsapps.com/start"
    cache = tmp_path / "home" / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    token = {
        "startUrl": start_url,
        "region": "eu-west-1",
        "accessToken": "sso-canary-access",
        "expiresAt": "2099-01-01T00:00:00Z",
    }
    (cache / (hashlib.sha1(start_url.encode()).hexdigest() + ".json")).write_text(json.dumps(token))
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        f"[profile sso]\nsso_start_url = {start_url}\nsso_region = eu-west-1\n"
        "sso_account_id = 123456789012\nsso_role_name = BedrockUser\n"
    )
    bedrock = BedrockSimulator(endpoints.issued).start()
    config = tmp_path / "switchgear.yaml"
    config.write_text(f"providers:\n  aws: {{type: bedrock, profile: sso, base_url: '{bedrock.url}'}}\n")
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_ENDPOINT_URL_SSO": endpoints.url,
    }
    try:
        served = Served("--config", str(config), env=env)
        try:
            assert served.chat(f"aws/{MODEL}")
        finally:
            served.stop()
    finally:
        bedrock.stop()
    sso = [issue for issue in endpoints.issues if issue.source == "sso"]
    assert bedrock.signed_with() == [sso[-1].access_key]
    method, path, headers, _ = endpoints.requests[-1]
    assert (method, path.split("?")[0]) == ("GET", "/federation/credentials")
    assert headers["x-amz-sso_bearer_token"] == "sso-canary-access"
    assert "role_name=BedrockUser" in path and "account_id=123456789012" in path
    assert f"  aws: AWS Bedrock at {bedrock.url} (SSO cache (profile 'sso'))" in served.err
    assert "canary" not in served.err


def test_serve_with_a_vertex_token_from_the_metadata_server(tmp_path: Path, sim: SimulatorThread) -> None:
    config = tmp_path / "switchgear.yaml"
    config.write_text(
        "providers:\n"
        f"  gcp: {{type: vertex, project: acme, location: europe-west4, base_url: '{sim.base_url}'}}\n"
    )
    with TokenServer() as metadata:
        env = {**os.environ, "GCE_METADATA_HOST": metadata.host, "GCE_METADATA_IP": metadata.host}
        served = Served("--config", str(config), env=env)
        try:
            sim.clear()
            assert served.chat("gcp/gemini-2.0-flash")
            recorded = sim.last()
        finally:
            served.stop()
    assert recorded.headers["authorization"] == "Bearer ya29.adc-1"  # minted by the worker at start-up
    assert "/projects/acme/locations/europe-west4/" in recorded.path
    assert any(
        p.startswith("/computeMetadata/v1/instance/service-accounts/default/token") for p in metadata.paths
    )
    assert f"  gcp: Google Vertex AI at {sim.base_url} (ADC: metadata server)" in served.err
    assert "provider 'gcp': Vertex access tokens from ADC: metadata server" in served.err
