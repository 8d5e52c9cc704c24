"""Configured secrets never leave the gateway: not in client error bodies, not in the logs (K2).

Each provider holds a canary credential; the simulated providers are scripted to echo it the ways
real ones do ("Incorrect API key provided: <key>", ``key=<key>``, an HTML error page, a message
long enough to be cut in the middle of the key, an error event in the middle of a stream). Every
answer the clients get, through the OpenAI, Anthropic and Responses routes, and every log line
the gateway writes meanwhile, is searched for the canaries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

# Not key-shaped on purpose: only the configured values themselves can catch these.
KEY = "pk-live-Zq81xLr02Vb7Nm3Kd9Tc"
AWS_SESSION = "IQoJb3JpZ2luX2VjEXAMPLE/sess+Tok3n=="
HEADER_SECRET = "hdr-Tok3n-4f1c9e7a2b"
MASTER = "master-Qp7Wm2Zx9Lk4"
CANARIES = (KEY, AWS_SESSION, HEADER_SECRET, MASTER)

FAMILIES = {  # family -> (provider, model, the secret its error echoes)
    "openai": ("p-openai", "sim-small", KEY),
    "anthropic": ("p-anthropic", "claude-sim", KEY),
    "gemini": ("p-gemini", "gemini-sim", KEY),
    "cohere": ("p-cohere", "command-sim", KEY),
    "bedrock": ("p-bedrock", "anthropic.claude-sim-v1:0", AWS_SESSION),
    "headers": ("p-headers", "sim-small", HEADER_SECRET),
}


def quote(text: str) -> str:
    """Every byte percent-encoded: the simulator decodes the script, while the model name (which the
    access log prints, as configuration it is) never holds a canary verbatim."""
    return "".join(f"%{byte:02X}" for byte in text.encode())


def scripts(secret: str) -> dict[str, str]:
    """Leak variant -> the simulator script (appended to the model name) that echoes ``secret``."""
    long = "x" * 990 + " " + secret  # the provider's 1000-character cut lands inside the secret
    page = f"<html><body><h1>401 Unauthorized</h1><p>The key {secret} is not valid.</p></body></html>"
    return {
        "incorrect": f"status=401;error_message={quote(f'Incorrect API key provided: {secret}')}",
        "key-equals": f"status=403;error_message={quote(f'access denied for key={secret} (revoked)')}",
        "html": f"status=401;error_body={quote(page)}",
        "cut": f"status=400;error_message={quote(long)}",
    }


def config(sim: SimulatorThread) -> dict[str, Any]:
    v1 = sim.base_url + "/v1"
    models = []
    for family, (provider, model, secret) in FAMILIES.items():
        for variant, script in scripts(secret).items():
            models.append(
                {
                    "name": f"{family}-{variant}",
                    "deployments": [{"provider": provider, "model": f"{model};{script}"}],
                }
            )
    midway = f"status=401;error_after=2;error_message={quote(f'Incorrect API key provided: {KEY}')}"
    models.append(
        {
            "name": "anthropic-midway",
            "deployments": [{"provider": "p-anthropic", "model": f"claude-sim;{midway}"}],
        }
    )
    models.append(
        {
            "name": "anthropic-midway-slow",
            "deployments": [{"provider": "p-anthropic", "model": f"claude-sim;{midway};gap_ms=40"}],
        }
    )
    return {
        "server": {"master_key": MASTER},
        "upstream": {"timeouts": {"connect": "2s", "first_byte": "3s", "chunk_gap": "1s", "total": "20s"}},
        "providers": {
            "p-openai": {"type": "openai", "base_url": v1, "api_key": KEY},
            "p-anthropic": {"type": "anthropic", "base_url": sim.base_url, "api_key": KEY},
            "p-gemini": {"type": "gemini", "base_url": sim.base_url, "api_key": KEY},
            "p-cohere": {"type": "cohere", "base_url": sim.base_url, "api_key": KEY},
            "p-bedrock": {
                "type": "bedrock",
                "base_url": sim.base_url,
                "region": "us-east-1",
                "aws_access_key_id": "AKIDSIMULATOR",  # the simulator checks SigV4 with its own pair
                "aws_secret_access_key": "sim-secret",
                "aws_session_token": AWS_SESSION,
            },
            "p-headers": {
                "type": "openai",
                "base_url": v1,
                "api_key": KEY,
                "headers": {"x-upstream-token": HEADER_SECRET},
            },
        },
        "models": models,
    }


@pytest.fixture()
def leaky(sim: SimulatorThread, caplog: pytest.LogCaptureFixture) -> Iterator[GatewayThread]:
    caplog.set_level(logging.DEBUG)
    gw = GatewayThread(config(sim)).start()
    yield gw
    gw.stop()
    assert_clean(caplog.text, "the gateway's logs")


def assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"{where} carry a configured secret: {text[:2000]}"
        assert canary[:8] not in text, f"{where} carry the start of a configured secret: {text[:2000]}"


def post(gw: GatewayThread, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"authorization": f"Bearer {MASTER}", "anthropic-version": "2023-06-01"}
    return httpx.post(gw.url + path, json=body, headers=headers, timeout=10)


ROUTES = {
    "chat": (
        "/v1/chat/completions",
        lambda model: {"model": model, "messages": [{"role": "user", "content": "hi"}]},
    ),
    "messages": (
        "/v1/messages",
        lambda model: {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
    ),
    "responses": ("/v1/responses", lambda model: {"model": model, "input": "hi"}),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_upstream_errors_echoing_a_configured_secret_reach_the_client_masked(
    leaky: GatewayThread, route: str, family: str
) -> None:
    path, body = ROUTES[route]
    for variant in scripts(""):
        for stream in (False, True):
            response = post(leaky, path, {**body(f"{family}-{variant}"), "stream": stream})
            assert 400 <= response.status_code < 500, response.text
            assert_clean(response.text + str(response.headers), f"the {route} answer ({family}, {variant})")
            if variant == "incorrect":
                assert "Incorrect API key provided: ***" in response.text  # still says what went wrong


def test_a_secret_echoed_in_an_error_event_mid_stream_is_masked(leaky: GatewayThread) -> None:
    client = openai.OpenAI(base_url=leaky.url + "/v1", api_key=MASTER, max_retries=0, timeout=10)
    stream = client.chat.completions.create(
        model="anthropic-midway", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        for _ in stream:
            pass
    assert_clean(str(caught.value) + str(caught.value.body), "the in-band error")
    assert "Incorrect API key provided: ***" in str(caught.value)


def test_the_official_clients_never_see_the_key(leaky: GatewayThread) -> None:
    client = openai.OpenAI(base_url=leaky.url + "/v1", api_key=MASTER, max_retries=0, timeout=10)
    with pytest.raises(openai.AuthenticationError) as chat_error:
        client.chat.completions.create(model="openai-incorrect", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError) as responses_error:
        client.responses.create(model="anthropic-html", input="hi")
    claude = anthropic.Anthropic(base_url=leaky.url, api_key=MASTER, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as messages_error:
        claude.messages.create(
            model="gemini-incorrect", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    for caught in (chat_error, responses_error, messages_error):
        assert_clean(str(caught.value) + str(caught.value.body), "an SDK error")


@pytest.mark.parametrize("model", ["anthropic-midway", "anthropic-midway-slow"])
def test_a_secret_in_a_passed_through_error_event_is_masked(leaky: GatewayThread, model: str) -> None:
    """Anthropic client, Anthropic provider: the stream is relayed byte for byte, but not the key
    (in the first read, or in a later one)."""
    claude = anthropic.Anthropic(base_url=leaky.url, api_key=MASTER, max_retries=0, timeout=10)
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        claude.messages.stream(
            model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        for _ in stream:
            pass
    assert_clean(str(caught.value) + str(caught.value.body), "a passed-through error event")
    assert "Incorrect API key provided: ***" in str(caught.value)
