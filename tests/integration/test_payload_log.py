"""Payload logging end to end (observability.payloads): the gateway with governance on, over real
sockets with the official SDKs and the simulated provider, keeps each request's prompt and answer
(whole or streamed) beside the request log, with secrets masked and the configured redaction hooks
applied, cut to the configured size; a key or its team that opts out is never logged; the admin
API shows a payload only to whom may see the request."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from switchgear.config import parse_settings
from switchgear.config.load import ConfigError
from switchgear.engine.build import build_stages
from switchgear.simulator.server import SimulatorThread
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores

ANSWER = "answer-canary-7731"
SECRET = "sk-proj-" + "Zq8" * 16  # an OpenAI-shaped key a user pasted into a prompt
ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}
MODELS = [
    {"name": "echo", "deployments": [{"provider": "sim", "model": f"sim-small;content={ANSWER}"}]},
    {"name": "broken", "deployments": [{"provider": "sim", "model": "sim-small;status=500"}]},
]


def mask_names(text: str) -> str:
    """A redaction hook as an operator writes one (here: one person's name)."""
    return text.replace("Alice Example", "<PERSON>")


@pytest.fixture
def gateway(sim: SimulatorThread, tmp_path: Path) -> Iterator[GovernedGateway]:
    payloads = {
        "enabled": True,
        "max_bytes": "2KB",
        "redact": ["tests.integration.test_payload_log:mask_names"],
    }
    gw = GovernedGateway(
        sim, Stores(f"sqlite:///{tmp_path}/payloads.db", None), MODELS, observability={"payloads": payloads}
    ).start()
    yield gw
    gw.stop()


def _key(gw: GovernedGateway, **fields: Any) -> str:
    made = httpx.post(gw.url + "/admin/keys", headers=ADMIN, json={"name": "app", **fields})
    assert made.status_code == 201, made.text
    return str(made.json()["key"])


def _payload(gw: GovernedGateway, request_id: str, *, wait: bool = True) -> httpx.Response:
    deadline = time.monotonic() + (5 if wait else 1)
    while True:
        got = httpx.get(gw.url + f"/admin/requests/{request_id}/payload", headers=ADMIN)
        if got.status_code == 200 or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_a_whole_answer_is_kept_with_secrets_and_names_masked(gateway: GovernedGateway) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=_key(gateway), max_retries=0)
    prompt = f"My key is {SECRET}; I am Alice Example."
    raw = client.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": prompt}]
    )
    assert raw.parse().choices[0].message.content == ANSWER
    got = _payload(gateway, raw.headers["x-request-id"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert SECRET not in body["request"] and "Alice Example" not in body["request"]
    assert "I am <PERSON>." in body["request"] and '"model":"echo"' in body["request"].replace(" ", "")
    assert ANSWER in body["response"] and body["truncated"] is False


def test_a_stream_is_kept_as_the_client_got_it(gateway: GovernedGateway) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=_key(gateway), max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="echo", max_tokens=50, messages=[{"role": "user", "content": "stream it"}], stream=True
    )
    request_id = raw.headers["x-request-id"]
    text = "".join(
        event.delta.text
        for event in raw.parse()
        if event.type == "content_block_delta" and event.delta.type == "text_delta"
    )
    assert text == ANSWER
    body = _payload(gateway, request_id).json()
    assert "stream it" in body["request"]
    assert "event: message_stop" in body["response"] and "answer-canary" in body["response"]


def test_a_long_prompt_is_cut_to_the_configured_size(gateway: GovernedGateway) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=_key(gateway), max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "é" * 3000}]
    )
    body = _payload(gateway, raw.headers["x-request-id"]).json()
    assert body["truncated"] is True and len(body["request"].encode()) <= 2000
    assert ANSWER in body["response"]


def test_a_key_or_team_that_opts_out_is_never_logged(gateway: GovernedGateway) -> None:
    team = httpx.post(
        gateway.url + "/admin/teams",
        headers=ADMIN,
        json={"name": "legal", "metadata": {"log_payloads": False}},
    )
    assert team.status_code == 201, team.text
    for key in (_key(gateway, metadata={"log_payloads": False}), _key(gateway, team_id=team.json()["id"])):
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="echo", messages=[{"role": "user", "content": "private"}]
        )
        request_id = raw.headers["x-request-id"]
        deadline = time.monotonic() + 5
        while (
            httpx.get(
                gateway.url + "/admin/requests", headers=ADMIN, params={"request_id": request_id}
            ).json()["data"]
            == []
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)  # the request's row is in the log: its payload (if any) went with it
        got = _payload(gateway, request_id, wait=False)
        assert got.status_code == 404 and "private" not in got.text


def _logged(gw: GovernedGateway, request_id: str) -> bool:
    found = httpx.get(gw.url + "/admin/requests", headers=ADMIN, params={"request_id": request_id})
    return bool(found.json()["data"])


def test_a_failed_request_keeps_its_prompt_and_no_answer(gateway: GovernedGateway) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=_key(gateway), max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "fail please"}])
    request_id = caught.value.response.headers["x-request-id"]
    body = _payload(gateway, request_id).json()
    assert "fail please" in body["request"] and body["response"] is None


def test_payloads_without_governance_is_a_configuration_error() -> None:
    settings = parse_settings({"observability": {"payloads": {"enabled": True}}}, {})
    with pytest.raises(ConfigError, match=r"observability\.payloads\.enabled needs governance"):
        build_stages(settings)


def test_a_redaction_hook_that_does_not_load_is_a_configuration_error(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    payloads = {"enabled": True, "redact": ["tests.integration.test_payload_log:no_such_hook"]}
    with pytest.raises(ConfigError, match=r"observability\.payloads\.redact: cannot load"):
        GovernedGateway(
            sim, Stores(f"sqlite:///{tmp_path}/bad.db", None), MODELS, observability={"payloads": payloads}
        )


def test_the_ui_request_page_shows_the_payload(gateway: GovernedGateway) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=_key(gateway), max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "<b>shown escaped</b>"}]
    )
    request_id = raw.headers["x-request-id"]
    assert _payload(gateway, request_id).status_code == 200
    with httpx.Client(base_url=gateway.url) as http:
        form = http.get("/ui/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        assert http.post("/ui/login", data={"key": MASTER_KEY, "csrf": token.group(1)}).status_code == 303
        page = http.get(f"/ui/requests/{request_id}").text
    assert 'id="payload-request"' in page and "&lt;b&gt;shown escaped&lt;/b&gt;" in page
    assert "<b>shown" not in page and ANSWER in page
