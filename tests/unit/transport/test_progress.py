"""The minimum-progress rule: a stream must complete an event within chunk_gap, not just send bytes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from switchgear.config.model import Timeouts, UpstreamSettings
from switchgear.core.errors import UpstreamTimeout
from switchgear.simulator.bedrock_eventstream import encode
from switchgear.transport.client import HttpClient, HttpRequest
from switchgear.transport.progress import FrameEnds, SSEEnds, tracker

GAP = Timeouts(connect=1.0, first_byte=1.0, chunk_gap=0.5, total=10.0)
Writer = asyncio.StreamWriter
Script = Callable[[Writer], Awaitable[None]]


def sse_head(content_type: bytes = b"text/event-stream") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nTransfer-Encoding: chunked\r\n\r\n"


async def chunk(writer: Writer, data: bytes) -> None:
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
    await writer.drain()


async def drip(writer: Writer, data: bytes, every: float) -> None:
    for i in range(len(data)):
        await asyncio.sleep(every)
        await chunk(writer, data[i : i + 1])


@pytest_asyncio.fixture()
async def serve() -> AsyncIterator[Callable[[Script], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> str:
        async def handle(reader: asyncio.StreamReader, writer: Writer) -> None:
            await reader.readuntil(b"\r\n\r\n")
            try:
                await script(writer)
                await asyncio.sleep(30)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/stream"

    yield start
    for server in servers:
        server.close()


async def read_stream(url: str) -> tuple[bytes, float, UpstreamTimeout | None]:
    client = HttpClient(UpstreamSettings())
    await client.start()
    loop = asyncio.get_running_loop()
    got = b""
    started = time.monotonic()
    try:
        response = await client.send(HttpRequest("POST", url, {}, b"{}"), GAP, "p", stream=True)
        while data := await response.chunk(loop):
            got += data
    except UpstreamTimeout as exc:
        return got, time.monotonic() - started, exc
    finally:
        await client.close()
    return got, time.monotonic() - started, None


async def test_an_sse_drip_is_cut_at_chunk_gap(serve: Callable[[Script], Awaitable[str]]) -> None:
    async def script(writer: Writer) -> None:
        writer.write(sse_head())
        await chunk(writer, b'data: {"n":1}\n\n')
        await drip(writer, b'data: {"n":2, "long": "................................"}\n\n', 0.05)

    got, elapsed, error = await read_stream(await serve(script))
    assert error is not None, got
    assert "timed out sending bytes that completed no stream event" in str(error)
    assert "chunk-gap deadline: no complete event" in str(error)
    assert got.startswith(b'data: {"n":1}\n\n') and len(got) > 20  # bytes kept coming until the cut
    assert 0.45 < elapsed < 1.0


async def test_events_that_each_take_less_than_the_gap_flow_on(
    serve: Callable[[Script], Awaitable[str]],
) -> None:
    async def script(writer: Writer) -> None:
        writer.write(sse_head(b"text/event-stream; charset=utf-8"))
        for i in range(8):  # 8 events over ~1.2 s, each dribbled over ~0.15 s, CRLF line ends
            await drip(writer, b"data: %d\r\n\r\n" % i, 0.015)
        await chunk(writer, b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")

    got, elapsed, error = await read_stream(await serve(script))
    assert error is None and got.endswith(b"data: [DONE]\n\n") and elapsed > 1.0


async def test_silence_is_still_cut_at_chunk_gap(serve: Callable[[Script], Awaitable[str]]) -> None:
    async def script(writer: Writer) -> None:
        writer.write(sse_head())
        await chunk(writer, b"data: 1\n\n")

    _, elapsed, error = await read_stream(await serve(script))
    assert error is not None and "between stream chunks (chunk-gap deadline)" in str(error)
    assert 0.45 < elapsed < 1.0


async def test_an_event_stream_frame_drip_is_cut_and_whole_frames_flow(
    serve: Callable[[Script], Awaitable[str]],
) -> None:
    frame = encode([(":event-type", "chunk"), (":message-type", "event")], b'{"bytes":"abc"}')
    head = sse_head(b"application/vnd.amazon.eventstream")

    async def dribbled_frames(writer: Writer) -> None:
        writer.write(head)
        for _ in range(6):  # each frame completes within the gap, though byte by byte
            await drip(writer, frame, 0.2 / len(frame))
        writer.write(b"0\r\n\r\n")

    got, elapsed, error = await read_stream(await serve(dribbled_frames))
    assert error is None and got == frame * 6 and elapsed > 1.0

    async def dripping(writer: Writer) -> None:
        writer.write(head)
        await chunk(writer, frame)
        await drip(writer, frame, 0.05)

    _, elapsed, error = await read_stream(await serve(dripping))
    assert error is not None and "no complete event" in str(error) and elapsed < 1.0


async def test_other_streams_count_any_bytes_as_progress(serve: Callable[[Script], Awaitable[str]]) -> None:
    async def script(writer: Writer) -> None:
        writer.write(sse_head(b"application/x-ndjson"))
        await drip(writer, b'{"a": "..................."}\n', 0.05)
        writer.write(b"0\r\n\r\n")

    got, elapsed, error = await read_stream(await serve(script))
    assert error is None and got == b'{"a": "..................."}\n' and elapsed > 1.0


@pytest.mark.parametrize(
    ("blocks", "ends"),
    [
        ([b"data: 1\n\n"], [True]),
        ([b"data: 1\n", b"\ndata: 2"], [False, True]),
        ([b"data: 1\r\n", b"\r\n"], [False, True]),
        ([b"data: 1\r", b"\n\r\n"], [False, True]),
        ([b"data: 1\r\n\r", b"\n"], [False, True]),
        ([b"data: 1\r", b"\n", b"\r", b"\n"], [False, False, False, True]),
        ([b"data: 1\n", b"\r", b"\n"], [False, False, True]),
        ([b"data: 1\r\r"], [True]),
        ([b"data: 1\n", b"data: 2\n"], [False, False]),
        ([b": keep-alive\n\n"], [True]),
    ],
)
def test_sse_event_ends_are_found_across_blocks(blocks: list[bytes], ends: list[bool]) -> None:
    found = SSEEnds()
    assert [found.feed(block) for block in blocks] == ends


def test_event_stream_frame_ends_are_found_across_blocks() -> None:
    frame = encode([(":event-type", "chunk")], b"{}")
    two = frame + frame
    for split in range(1, len(two)):
        found = FrameEnds()
        first, second = found.feed(two[:split]), found.feed(two[split:])
        assert second  # the second frame always ends in the second block
        assert first == (split >= len(frame))
    found = FrameEnds()
    assert [found.feed(two[i : i + 1]) for i in range(len(two))].count(True) == 2
    assert FrameEnds().feed(b"\x00\x00\x00\x01garbage")  # an impossible length: no judgement
    assert tracker(b"text/event-stream; charset=utf-8") is not None
    assert tracker(b"application/json") is None and tracker(None) is None
