"""PII guardrails end to end, with the official SDKs against the simulated providers: the provider
never sees the value (G2), streamed answers are masked even when the value is split across
chunks in OpenAI and Anthropic streams (G3), placeholders come back only within the request that
made them, a client cannot switch a policy off (G5), and nothing logs the values found."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import anthropic
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

EMAIL = "jane.roe@example.org"
CARD = "4111 1111 1111 1111"
ANSWER = f"Write to {EMAIL} or pay with card {CARD} today."
SCRIPT = ";content=" + quote(ANSWER) + ";chunks=40;gap_ms=1"


def _gateway(sim: SimulatorThread, guardrails: list[dict[str, Any]]) -> GatewayThread:
    return GatewayThread({**base_config(sim), "guardrails": guardrails}).start()


@pytest.fixture(scope="module")
def masked(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = _gateway(sim, [{"name": "pii", "kind": "pii"}])
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def reversible(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = _gateway(sim, [{"name": "pii", "kind": "pii", "direction": "input", "restore": True}])
    yield gateway
    gateway.stop()


def _oa(gw: GatewayThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)


def _sent_upstream(sim: SimulatorThread) -> str:
    return sim.last().body.decode("utf-8", "replace")


def test_the_provider_gets_placeholders_and_the_answer_stays_masked(
    masked: GatewayThread, sim: SimulatorThread
) -> None:
    with _oa(masked) as client:
        answer = client.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": f"my mail is {EMAIL}, card {CARD}"}]
        )
    sent = _sent_upstream(sim)
    assert EMAIL not in sent and CARD not in sent
    assert "<EMAIL_1>" in sent and "<CARD_1>" in sent
    text = answer.choices[0].message.content or ""
    assert EMAIL not in text and "<EMAIL_1>" in text  # the echo, masked on the way back too


def test_obfuscated_values_are_still_found(masked: GatewayThread, sim: SimulatorThread) -> None:
    """NFKC-variant digits and zero-width characters are not an easy way around the check."""
    with _oa(masked) as client:
        client.chat.completions.create(
            model="fast",
            messages=[
                {
                    "role": "user",
                    "content": "ssn \uff10\uff17\uff18-05-1120, mail jane\u200b.roe@exam\u200bple.org",
                }
            ],
        )
    sent = _sent_upstream(sim)
    assert "<SSN_1>" in sent and "<EMAIL_1>" in sent and "1120" not in sent and "roe" not in sent


@pytest.mark.parametrize("model", ["sim/sim-small", "s-anthropic/claude-sim"])
def test_an_openai_stream_is_masked_when_values_are_split_across_chunks(
    masked: GatewayThread, model: str
) -> None:
    with _oa(masked) as client:
        stream = client.chat.completions.create(
            model=model + SCRIPT, messages=[{"role": "user", "content": "hi"}], stream=True
        )
        pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    text = "".join(pieces)
    assert EMAIL not in text and CARD not in text
    assert text == "Write to <EMAIL_1> or pay with card <CARD_1> today."
    assert len(pieces) > 3  # still a stream


@pytest.mark.parametrize("model", ["s-anthropic/claude-sim", "sim/sim-small"])
def test_an_anthropic_stream_is_masked_when_values_are_split_across_chunks(
    masked: GatewayThread, model: str
) -> None:
    with (
        anthropic.Anthropic(base_url=masked.url, api_key="k", max_retries=0) as client,
        client.messages.stream(
            model=model + SCRIPT, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    text = "".join(pieces)
    assert EMAIL not in text and CARD not in text
    assert text == "Write to <EMAIL_1> or pay with card <CARD_1> today."
    assert final.content[0].text == text  # type: ignore[union-attr]


def test_reversible_masking_restores_values_within_the_request(
    reversible: GatewayThread, sim: SimulatorThread
) -> None:
    with _oa(reversible) as client:
        answer = client.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": f"my mail is {EMAIL}"}]
        )
        assert EMAIL not in _sent_upstream(sim)
        assert EMAIL in (answer.choices[0].message.content or "")  # the echo got its value back
        # another request that sends the placeholder itself gets no one else's value
        other = client.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": "who is <EMAIL_1>?"}]
        )
    text = other.choices[0].message.content or ""
    assert EMAIL not in text and "<EMAIL_1>" in text


def test_reversible_masking_restores_in_streams(reversible: GatewayThread) -> None:
    with _oa(reversible) as client:
        stream = client.chat.completions.create(
            model="sim/sim-small;chunks=30",
            messages=[{"role": "user", "content": f"mail {EMAIL} please"}],
            stream=True,
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert EMAIL in text and "<EMAIL_1>" not in text


@pytest.mark.parametrize(
    ("extra_body", "headers"),
    [
        ({"guardrails": {"pii": "off"}, "disable_guardrails": True}, {}),
        ({"metadata": {"guardrails": "none"}}, {}),
        ({}, {"x-switchgear-guardrails": "off", "x-guardrails-disable": "pii"}),
    ],
)
def test_a_client_cannot_switch_a_policy_off(
    masked: GatewayThread,
    sim: SimulatorThread,
    caplog: pytest.LogCaptureFixture,
    extra_body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    with caplog.at_level(logging.WARNING, logger="switchgear.guardrails"), _oa(masked) as client:
        client.chat.completions.create(
            model="fast",
            messages=[{"role": "user", "content": f"mail {EMAIL}"}],
            extra_body=extra_body,
            extra_headers=headers,
        )
    assert EMAIL not in _sent_upstream(sim)
    assert any("tried to change guardrails" in r.getMessage() for r in caplog.records)  # and logged


def test_a_guardrail_never_logs_or_records_the_values_it_found(
    masked: GatewayThread, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(masked.settled)
    with caplog.at_level(logging.DEBUG), _oa(masked) as client:
        client.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": f"mail {EMAIL} {CARD}"}]
        )
    records = masked.wait_settled(before + 1)
    guards = records[-1].guards
    assert guards is not None
    assert {(g.name, g.direction) for g in guards} == {("pii", "input"), ("pii", "output")}
    found = next(g for g in guards if g.direction == "input")
    assert found.action == "redact" and found.found == {"EMAIL_ADDRESS": 1, "CREDIT_CARD": 1}
    assert EMAIL not in repr(guards) and CARD not in repr(guards)
    assert all(EMAIL not in r.getMessage() and CARD not in r.getMessage() for r in caplog.records)


def test_deny_mode_refuses_up_front_and_mid_stream(sim: SimulatorThread) -> None:
    gateway = _gateway(sim, [{"name": "no-pii", "kind": "pii", "mode": "deny"}])
    try:
        with _oa(gateway) as client:
            with pytest.raises(openai.BadRequestError) as refused:
                client.chat.completions.create(
                    model="fast", messages=[{"role": "user", "content": f"mail {EMAIL}"}]
                )
            assert "no-pii" in str(refused.value) and "EMAIL_ADDRESS" in str(refused.value)
            assert EMAIL not in str(refused.value)
            stream = client.chat.completions.create(
                model="sim/sim-small" + SCRIPT, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            seen: list[str] = []
            with pytest.raises(openai.APIError):
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        seen.append(chunk.choices[0].delta.content)
        assert EMAIL not in "".join(seen) and "jane" not in "".join(seen)
    finally:
        gateway.stop()


def test_anthropic_clients_prompts_and_system_prompts_are_masked(
    masked: GatewayThread, sim: SimulatorThread
) -> None:
    with anthropic.Anthropic(base_url=masked.url, api_key="k", max_retries=0) as client:
        message = client.messages.create(
            model="s-anthropic/claude-sim",
            max_tokens=50,
            system=f"The operator's address is {EMAIL}.",
            messages=[{"role": "user", "content": f"card {CARD}"}],
        )
    sent = _sent_upstream(sim)
    assert EMAIL not in sent and CARD not in sent and "<EMAIL_1>" in sent and "<CARD_1>" in sent
    assert CARD not in message.content[0].text  # type: ignore[union-attr]


def test_embeddings_inputs_are_masked_too(masked: GatewayThread, sim: SimulatorThread) -> None:
    with _oa(masked) as client:
        client.embeddings.create(model="embed", input=[f"mail {EMAIL}", "plain text"])
    sent = _sent_upstream(sim)
    assert EMAIL not in sent and "<EMAIL_1>" in sent and "plain text" in sent
