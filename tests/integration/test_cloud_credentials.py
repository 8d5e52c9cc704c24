"""Cloud credentials found the way the vendors' SDKs find them, end to end through the gateway.

A Bedrock provider without static keys gets its credentials from botocore's chain: each source is
served on loopback by the test (credential files, STS for web identity, the container endpoint,
IMDS), and the simulated Bedrock checks every request's SigV4 signature against exactly the
credentials those sources issued. Requests go in through the official OpenAI SDK (translated to
Converse) and the Anthropic SDK (passed through as InvokeModel). A Vertex provider without a token
gets one from Application Default Credentials.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.aws import BedrockSimulator, CredentialEndpoints
from tests.fakes.gateway import GatewayThread
from tests.fakes.gce import TokenServer, service_account_file

MODEL = "anthropic.claude-sim-v1:0"


@pytest.fixture
def endpoints() -> Iterator[CredentialEndpoints]:
    served = CredentialEndpoints().start()
    yield served
    served.stop()


@pytest.fixture
def bedrock(endpoints: CredentialEndpoints) -> Iterator[BedrockSimulator]:
    endpoints.issued.update({"AKIDENV": "env-secret", "AKIDDEV": "dev-secret"})
    sim = BedrockSimulator(endpoints.issued).start()
    yield sim
    sim.stop()


def gateway(bedrock: BedrockSimulator, **aws: Any) -> GatewayThread:
    provider = {"type": "bedrock", "base_url": bedrock.url, "region": "eu-west-1", **aws}
    config = {
        "upstream": {"timeouts": {"connect": "2s", "first_byte": "5s", "total": "20s"}},
        "providers": {"aws": provider},
    }
    return GatewayThread(config).start()


def chat(gw: GatewayThread) -> str:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0, timeout=20) as client:
        answer = client.chat.completions.create(
            model=f"aws/{MODEL}", messages=[{"role": "user", "content": "hi"}]
        )
    return answer.choices[0].message.content or ""


def message(gw: GatewayThread) -> str:
    with anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0, timeout=20) as client:
        answer = client.messages.create(
            model=f"aws/{MODEL}", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    block = answer.content[0]
    return block.text if block.type == "text" else ""


def web_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints) -> None:
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.irsa.sig")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/bedrock")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", endpoints.url)


def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoints.url + "/container")


def instance_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoints.url + "/")


@pytest.mark.parametrize("source", [web_identity, container, instance_metadata])
def test_temporary_credentials_sign_every_request(
    source: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    endpoints: CredentialEndpoints,
    bedrock: BedrockSimulator,
) -> None:
    source(tmp_path, monkeypatch, endpoints)
    gw = gateway(bedrock)
    try:
        assert len(endpoints.issues) == 1  # found once, at start-up
        assert chat(gw) and message(gw) and chat(gw)
    finally:
        gw.stop()
    issue = endpoints.issues[0]
    assert len(endpoints.issues) == 1  # then cached: an hour of validity left
    assert bedrock.signed_with() == [issue.access_key] * 3
    assert {r.headers["x-amz-security-token"] for r in bedrock.requests} == {issue.token}
    paths = [r.path for r in bedrock.requests]
    assert paths[0].endswith("/converse") and paths[1].endswith("/invoke")  # translated, passed through


def test_environment_and_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bedrock: BedrockSimulator
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    credentials = tmp_path / "credentials"
    credentials.write_text("[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for aws in ({}, {"profile": "dev"}):
        gw = gateway(bedrock, **aws)
        try:
            assert chat(gw) and message(gw)
        finally:
            gw.stop()
    assert bedrock.signed_with() == ["AKIDENV", "AKIDENV", "AKIDDEV", "AKIDDEV"]
    assert all("x-amz-security-token" not in r.headers for r in bedrock.requests)


def test_short_lived_credentials_are_refreshed_before_they_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints, bedrock: BedrockSimulator
) -> None:
    container(tmp_path, monkeypatch, endpoints)
    endpoints.lifetime = 15 * 60 + 2  # their refresh window opens two seconds after start-up
    gw = gateway(bedrock)
    try:
        assert chat(gw)
        time.sleep(2.5)
        endpoints.lifetime, endpoints.delay = 3600, 0.5  # the next ones are slow to come
        started = time.monotonic()
        assert message(gw)  # starts the refresh, signed with the first credentials: no wait
        assert time.monotonic() - started < 0.5
        deadline = time.monotonic() + 5
        while len(endpoints.issues) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        assert chat(gw) and message(gw)
    finally:
        gw.stop()
    first, second = endpoints.issues
    assert bedrock.signed_with() == [first.access_key] * 2 + [second.access_key] * 2
    assert [r.headers["x-amz-security-token"] for r in bedrock.requests][2:] == [second.token] * 2


def test_no_credentials_fail_the_request_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, bedrock: BedrockSimulator
) -> None:
    gw = gateway(bedrock)
    try:
        with pytest.raises(openai.APIStatusError) as caught:
            chat(gw)
    finally:
        gw.stop()
    assert caught.value.status_code == 502
    assert "no AWS credentials found" in caught.value.message
    assert not bedrock.requests


# --- Vertex AI --------------------------------------------------------------------------------


def test_vertex_access_token_from_application_default_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: SimulatorThread
) -> None:
    with TokenServer() as tokens:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", service_account_file(tmp_path, tokens.url))
        provider = {"type": "vertex", "project": "acme", "location": "us-central1", "base_url": sim.base_url}
        gw = GatewayThread({"providers": {"gcp": provider}}).start()
        try:
            assert len(tokens.forms) == 1  # minted at start-up
            sim.clear()
            with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0, timeout=20) as client:
                for _ in range(2):
                    answer = client.chat.completions.create(
                        model="gcp/gemini-2.0-flash", messages=[{"role": "user", "content": "hi"}]
                    )
                    assert answer.choices[0].message.content
        finally:
            gw.stop()
    assert [r.headers["authorization"] for r in sim.requests] == ["Bearer ya29.adc-1"] * 2
    assert "/projects/acme/locations/us-central1/" in sim.last().path
    assert len(tokens.forms) == 1  # then cached
