"""Stream and answer transforms: a stage that masks a word even when the provider splits it across
stream chunks, holding back only what might be the start of it; whole answers rewritten too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import anthropic
import openai
import pytest

from switchgear.core.errors import GatewayError, PermissionDenied
from switchgear.core.types import ChatResponse, StreamEvent, TextDelta, TextPart
from switchgear.core.usage import Usage
from switchgear.providers.base import StreamRelay
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


class ByteRelay:
    """Wraps a relay: masks the word in each chunk of client bytes, and may end the stream early."""

    def __init__(self, inner: StreamRelay, stop_after: int | None) -> None:
        self.inner = inner
        self.stop_after = stop_after
        self.chunks = 0

    @property
    def done(self) -> bool:
        return self.inner.done

    @property
    def events(self) -> int:
        return self.inner.events

    @property
    def failed(self) -> GatewayError | None:
        return self.inner.failed

    @property
    def usage(self) -> Usage | None:
        return self.inner.usage

    def feed(self, data: bytes) -> bytes:
        out = self.inner.feed(data).replace(WORD.encode(), MASK.encode())
        self.chunks += 1
        if self.stop_after is not None and self.chunks > self.stop_after:
            return out + self.inner.error(PermissionDenied("the policy ended this answer"))
        return out

    def finish(self) -> bytes:
        return self.inner.finish()

    def error(self, exc: GatewayError) -> bytes:
        return self.inner.error(exc)


class ByteMasking(Stage):
    name = "byte_masking"  # reads_answer stays False: passthrough is kept

    def wrap_relay(self, ctx: RequestContext, relay: StreamRelay) -> StreamRelay:
        return ByteRelay(relay, 3 if "stop" in ctx.tags else None)

    async def body_transform(self, ctx: RequestContext, body: bytes) -> bytes:
        return body.replace(WORD.encode(), MASK.encode())


@pytest.fixture(scope="module")
def byte_gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(base_config(sim), stages=[ByteMasking()]).start()
    yield gateway
    gateway.stop()


def test_byte_level_transforms_keep_passthrough(byte_gw: GatewayThread, sim: SimulatorThread) -> None:
    with openai.OpenAI(base_url=byte_gw.url + "/v1", api_key="k", max_retries=0) as client:
        answer = client.chat.completions.create(
            model="sim/sim-small" + SCRIPT,
            messages=MESSAGES,  # type: ignore[arg-type]
            extra_body={"future_param": {"kept": True}},
        )
        assert answer.choices[0].message.content == EXPECTED
        assert sim.last().json["future_param"] == {"kept": True}  # passed through, not translated
        stream = client.chat.completions.create(
            model="sim/sim-small;content=the%20secret%20word%20is%20secret%20now;gap_ms=3",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == EXPECTED


def test_a_relay_wrapper_can_end_the_stream_with_an_in_band_error(byte_gw: GatewayThread) -> None:
    got: list[str] = []
    with (
        openai.OpenAI(base_url=byte_gw.url + "/v1", api_key="k", max_retries=0) as client,
        pytest.raises(openai.APIError, match="the policy ended this answer"),
    ):
        for chunk in client.chat.completions.create(
            model="sim/sim-small;chunks=20;gap_ms=3",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            extra_headers={"x-switchgear-tags": "stop", "x-request-id": "rid-stopped"},
        ):
            got.extend(c.delta.content or "" for c in chunk.choices)
    assert got  # the first chunks arrived before the end
    deadline = time.monotonic() + 3
    while not any(r.request_id == "rid-stopped" for r in byte_gw.settled) and time.monotonic() < deadline:
        time.sleep(0.01)
    record = next(r for r in byte_gw.settled if r.request_id == "rid-stopped")
    assert record.in_band and record.status == 403
