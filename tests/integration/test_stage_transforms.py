"""Stream and answer transforms: a stage that masks a word even when the provider splits it across
stream chunks, holding back only what might be the start of it; whole answers rewritten too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import anthropic
import openai
import pytest

from switchgear.core.types import ChatResponse, StreamEvent, TextDelta, TextPart
from switchgear.simulator.server import SimulatorThread
from switchgear.stages import RequestContext, Stage
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

WORD, MASK = "secret", "******"
SCRIPT = ";content=the%20secret%20word%20is%20secret%20now;chunks=30;gap_ms=3"
MESSAGES = [{"role": "user", "content": "hi"}]


class Mask:
    """Holds back at most len(WORD) - 1 characters per choice: a split word is still caught."""

    def __init__(self) -> None:
        self.held: dict[int, str] = {}
        self.fed = 0

    def feed(self, events: list[StreamEvent]) -> list[StreamEvent]:
        self.fed += 1
        out: list[StreamEvent] = []
        for event in events:
            if not isinstance(event, TextDelta):
                out.extend(self._flush(event.index) if hasattr(event, "index") else [])
                out.append(event)
                continue
            text = (self.held.pop(event.index, "") + event.text).replace(WORD, MASK)
            keep = next((n for n in range(len(WORD) - 1, 0, -1) if text.endswith(WORD[:n])), 0)
            if keep:
                self.held[event.index], text = text[-keep:], text[:-keep]
            if text:
                out.append(TextDelta(event.index, text))
        return out

    def _flush(self, index: int) -> list[StreamEvent]:
        held = self.held.pop(index, "")
        return [TextDelta(index, held)] if held else []

    def finish(self) -> list[StreamEvent]:
        return [TextDelta(i, t) for i, t in self.held.items() if t]


class Masking(Stage):
    name = "masking"
    reads_answer = True

    def __init__(self) -> None:
        self.transforms: list[Mask] = []

    def stream_transform(self, ctx: RequestContext) -> Mask:
        mask = Mask()
        self.transforms.append(mask)
        return mask

    async def answer_transform(self, ctx: RequestContext, response: ChatResponse) -> ChatResponse:
        for choice in response.choices:
            choice.message.content = [
                replace(p, text=p.text.replace(WORD, MASK)) if isinstance(p, TextPart) else p
                for p in choice.message.content
            ]
        return response


@pytest.fixture(scope="module")
def masking() -> Masking:
    return Masking()


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread, masking: Masking) -> Iterator[GatewayThread]:
    gateway = GatewayThread(base_config(sim), stages=[masking]).start()
    yield gateway
    gateway.stop()


EXPECTED = f"the {MASK} word is {MASK} now"


def test_openai_stream_is_rewritten_chunk_by_chunk(gw: GatewayThread, masking: Masking) -> None:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
        stream = client.chat.completions.create(
            model="sim/sim-small" + SCRIPT, messages=MESSAGES, stream=True
        )  # type: ignore[arg-type]
        pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == EXPECTED
    assert len(pieces) > 10  # still a stream, not one buffered answer
    assert WORD not in "".join(pieces) and all(WORD not in p for p in pieces)
    assert masking.transforms[-1].fed > 10


def test_anthropic_stream_is_rewritten_chunk_by_chunk(gw: GatewayThread) -> None:
    with (
        anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0) as client,
        client.messages.stream(
            model="s-anthropic/claude-sim" + SCRIPT,
            max_tokens=50,
            messages=MESSAGES,  # type: ignore[arg-type]
        ) as stream,
    ):
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == EXPECTED
    assert len(pieces) > 10
    assert final.content[0].text == EXPECTED  # type: ignore[union-attr]


def test_whole_answers_are_rewritten_for_both_clients(gw: GatewayThread) -> None:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
        answer = client.chat.completions.create(model="sim/sim-small" + SCRIPT, messages=MESSAGES)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == EXPECTED
    with anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0) as claude:
        message = claude.messages.create(
            model="s-anthropic/claude-sim" + SCRIPT,
            max_tokens=50,
            messages=MESSAGES,  # type: ignore[arg-type]
        )
    assert message.content[0].text == EXPECTED  # type: ignore[union-attr]


def test_without_a_reading_stage_same_family_stays_byte_for_byte(gateway: GatewayThread) -> None:
    """The session gateway has no stage reading answers: OpenAI answers pass through untouched."""
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0) as client:
        answer = client.chat.completions.create(model="sim/sim-small" + SCRIPT, messages=MESSAGES)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "the secret word is secret now"
