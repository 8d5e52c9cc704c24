"""The lean HTTP/1.1 client behind ``HttpClient``, against tiny raw asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import ssl
import struct
import subprocess
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from switchgear.config.model import Timeouts, UpstreamSettings
from switchgear.core.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnreachable
from switchgear.transport.client import HttpClient, HttpRequest

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
Handler = Callable[[Reader, Writer, int], Awaitable[None]]

FAST = Timeouts(connect=1.0, first_byte=1.0, chunk_gap=1.0, total=3.0)
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class Server:
    """A raw server: ``handler(reader, writer, n)`` runs for the n-th connection (from 1)."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed = asyncio.Event()  # a connection ended (handler returned or EOF seen)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> Server:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/v1/chat") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    async def _handle(self, reader: Reader, writer: Writer) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handler(reader, writer, self.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.closed.set()
            self._tasks.discard(task)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


async def read_request(reader: Reader, server: Server | None = None) -> bytes | None:
    """One request (head and body), or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    data = head + await reader.readexactly(length)
    if server is not None:
        server.requests.append(data)
    return data


def answering(*answers: bytes, keep_open: bool = True) -> Handler:
    """Answer each request on a connection with the next of ``answers`` (cycling)."""

    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        i = 0
        while await read_request(reader) is not None:
            writer.write(answers[i % len(answers)])
            await writer.drain()
            i += 1
        if keep_open:
            await reader.read()

    return handler


@pytest_asyncio.fixture
async def client() -> AsyncIterator[HttpClient]:
    c = HttpClient(UpstreamSettings(max_connections=8, keepalive=30.0))
    await c.start()
    yield c
    await c.close()


async def serve(handler: Handler, host: str = "127.0.0.1") -> Server:
    return await Server(handler, host).start()


def post(url: str, body: bytes = b'{"m":1}', **kw: Any) -> HttpRequest:
    return HttpRequest(
        "POST", url, {"content-type": "application/json", "authorization": "Bearer k"}, body, **kw
    )


async def test_keepalive_reuses_one_connection_and_writes_a_clean_request(client: HttpClient) -> None:
    server = await serve(answering(OK))
    seen: list[bytes] = []

    async def recording(reader: Reader, writer: Writer, n: int) -> None:
        while (req := await read_request(reader)) is not None:
            seen.append(req)
            writer.write(OK)

    server.handler = recording
    for _ in range(5):
        resp = await client.send(
            post(server.url("/v1/chat?x=1"), params={"api-version": "2024 1"}), FAST, "p"
        )
        assert resp.status == 200
        assert await resp.read() == b'{"ok":true}'
        assert resp.headers["content-type"] == "application/json"
        assert resp.header("Content-Type") == "application/json"
    assert server.connections == 1
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat?x=1&api-version=2024+1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Content-Length: 7" in lines
    assert b"authorization: Bearer k" in lines
    assert not any(line.lower().startswith(b"accept-encoding") for line in lines)
    assert body == b'{"m":1}'
    await server.stop()


async def test_empty_body_sends_content_length_zero(client: HttpClient) -> None:
    seen: list[bytes] = []

    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        req = await read_request(reader)
        assert req is not None
        seen.append(req)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await reader.read()

    server = await serve(handler)
    resp = await client.send(HttpRequest("GET", server.url(), {}), FAST, "p")
    assert resp.status == 204
    assert await resp.read() == b""
    assert b"\r\nContent-Length: 0\r\n" in seen[0]
    await server.stop()


async def test_chunked_body_is_decoded(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"6\r\n world\r\n0\r\n\r\n")
        await reader.read()

    server = await serve(handler)
    resp = await client.send(post(server.url()), FAST, "p")
    assert await resp.read() == b"hello world"
    await server.stop()


def sse(*events: tuple[float, bytes]) -> Handler:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for delay, data in events:
            await asyncio.sleep(delay)
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if data else b"0\r\n\r\n")
            await writer.drain()
        while await read_request(reader) is not None:  # later requests on this connection
            writer.write(OK)

    return handler


async def test_stream_chunks_arrive_piece_by_piece_and_connection_is_reused(client: HttpClient) -> None:
    events = [(0.0, b"data: 1\n\n"), (0.05, b"data: 2\n\n"), (0.05, b"data: [DONE]\n\n"), (0.0, b"")]
    server = await serve(sse(*events))
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    assert resp.header("content-type") == "text/event-stream"
    got = []
    while data := await resp.chunk(loop):
        got.append(data)
    assert got == [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]
    assert resp.started
    resp.release()
    assert await resp.chunk(loop) == b""
    resp = await client.send(post(server.url()), FAST, "p")
    assert await resp.read() == b'{"ok":true}'
    assert server.connections == 1
    await server.stop()


async def test_stream_released_before_its_end_lingers_and_is_reused(client: HttpClient) -> None:
    # A relay stops at [DONE]; the chunked terminator follows a little later.
    events = [(0.0, b"data: 1\n\n"), (0.0, b"data: [DONE]\n\n"), (0.05, b"")]
    server = await serve(sse(*events))
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    got = b""
    while b"[DONE]" not in got:
        got += await resp.chunk(loop)
    resp.release()  # before the terminator arrived
    await asyncio.sleep(0.1)
    resp = await client.send(post(server.url()), FAST, "p")
    assert await resp.read() == b'{"ok":true}'
    assert server.connections == 1
    await server.stop()


async def test_stream_whose_end_never_comes_is_dropped_after_lingering(client: HttpClient) -> None:
    server = await serve(sse((0.0, b"data: [DONE]\n\n"), (3.0, b"")))
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    assert b"[DONE]" in await resp.chunk(loop)
    resp.release()
    await asyncio.sleep(1.2)
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    assert server.connections == 2
    resp.close()
    await server.stop()


async def silent(reader: Reader, writer: Writer, n: int) -> None:
    await read_request(reader)
    await reader.read()


async def test_first_byte_timeout(client: HttpClient) -> None:
    server = await serve(silent)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="timed out waiting for the response") as info:
        await client.send(post(server.url("/v1/x?key=SECRET")), Timeouts(first_byte=0.2), "p")
    assert 0.15 < time.monotonic() - started < 0.6
    assert f"provider 'p' (127.0.0.1:{server.port})" in info.value.message
    assert "SECRET" not in info.value.message and "/v1" not in info.value.message
    await server.stop()


async def test_stream_first_chunk_waits_at_most_the_first_byte_deadline_from_send(client: HttpClient) -> None:
    server = await serve(sse((1.0, b"data: late\n\n")))  # the headers at once, the first chunk late
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    resp = await client.send(post(server.url()), Timeouts(first_byte=0.3, chunk_gap=5.0), "p", stream=True)
    await asyncio.sleep(0.1)
    with pytest.raises(UpstreamTimeout, match="waiting for the first chunk"):
        await resp.chunk(loop)
    assert time.monotonic() - started < 0.6
    resp.close()
    await server.stop()


async def test_chunk_gap_timeout(client: HttpClient) -> None:
    server = await serve(sse((0.0, b"data: 1\n\n"), (2.0, b"data: 2\n\n")))
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), Timeouts(first_byte=1.0, chunk_gap=0.2), "p", stream=True)
    assert await resp.chunk(loop) == b"data: 1\n\n"
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="between stream chunks"):
        await resp.chunk(loop)
    assert 0.15 < time.monotonic() - started < 0.6
    resp.close()
    await server.stop()


async def test_total_timeout(client: HttpClient) -> None:
    server = await serve(sse(*[(0.05, b"data: x\n\n")] * 40))
    loop = asyncio.get_running_loop()
    timeouts = Timeouts(first_byte=1.0, chunk_gap=1.0, total=0.4)
    started = time.monotonic()
    resp = await client.send(post(server.url()), timeouts, "p", stream=True)
    with pytest.raises(UpstreamTimeout, match="total deadline"):
        while await resp.chunk(loop):
            pass
    assert 0.35 < time.monotonic() - started < 0.8
    resp.close()
    await server.stop()


async def test_connect_refused_is_unreachable_quickly(client: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(UpstreamUnreachable, match="cannot connect to provider 'p'") as info:
        await client.send(post(f"http://127.0.0.1:{port}/v1/x?key=SECRET"), FAST, "p")
    assert time.monotonic() - started < 0.5
    assert f"127.0.0.1:{port}" in info.value.message and "SECRET" not in info.value.message


async def test_server_closing_idle_connection_then_next_request_succeeds(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(OK)  # keep-alive answer, then the server closes the idle connection

    server = await serve(handler)
    for _ in range(2):
        resp = await client.send(post(server.url()), FAST, "p")
        assert await resp.read() == b'{"ok":true}'
        await asyncio.sleep(0.05)
    assert server.connections == 2
    await server.stop()


async def test_reused_connection_dead_before_answer_is_retried_once_on_a_new_one(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        if n == 1:
            writer.write(OK)
            await read_request(reader)  # the second request on this connection: no answer, close
            return
        writer.write(OK)
        await reader.read()

    server = await serve(handler)
    for _ in range(2):
        resp = await client.send(post(server.url()), FAST, "p")
        assert await resp.read() == b'{"ok":true}'
    assert server.connections == 2
    await server.stop()


async def test_new_connection_closed_before_answer_is_unreachable(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)

    server = await serve(handler)
    with pytest.raises(UpstreamUnreachable, match="closed the connection waiting for the response"):
        await client.send(post(server.url()), FAST, "p")
    assert server.connections == 1
    await server.stop()


async def test_reset_mid_body_is_unreachable(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST

    server = await serve(handler)
    resp = await client.send(post(server.url()), FAST, "p")
    with pytest.raises(UpstreamUnreachable, match="closed the connection reading the response"):
        await resp.read()
    await server.stop()


async def test_garbage_is_a_protocol_error(client: HttpClient) -> None:
    server = await serve(answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    with pytest.raises(UpstreamProtocolError, match="malformed HTTP response"):
        await client.send(post(server.url()), FAST, "p")
    await server.stop()


async def test_connection_close_and_http10_are_honoured(client: HttpClient) -> None:
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    old = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    eof = asyncio.Event()
    for answer in (close, old):

        async def handler(reader: Reader, writer: Writer, n: int, answer: bytes = answer) -> None:
            await read_request(reader)
            writer.write(answer)
            await reader.read()  # the server keeps it open: the client must close it
            eof.set()

        server = await serve(handler)
        for _ in range(2):
            resp = await client.send(post(server.url()), FAST, "p")
            assert await resp.read() == b"ok"
            await asyncio.wait_for(eof.wait(), 1.0)
            eof.clear()
        assert server.connections == 2
        await server.stop()


async def test_body_until_eof(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"part two")

    server = await serve(handler)
    resp = await client.send(post(server.url()), FAST, "p")
    assert await resp.read() == b"part one, part two"
    await server.stop()


async def test_max_connections_waits_fifo_then_times_out() -> None:
    client = HttpClient(UpstreamSettings(max_connections=1))
    await client.start()
    server = await serve(answering(OK))
    held = await client.send(post(server.url()), FAST, "p")
    waiting = asyncio.ensure_future(client.send(post(server.url()), FAST, "p"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    assert await held.read() == b'{"ok":true}'  # the connection goes back: the waiter gets it
    resp = await asyncio.wait_for(waiting, 1.0)
    assert await resp.read() == b'{"ok":true}'
    assert server.connections == 1

    held = await client.send(post(server.url()), FAST, "p")
    with pytest.raises(UpstreamTimeout, match="waiting for a free connection"):
        await client.send(post(server.url()), Timeouts(first_byte=0.2), "p")
    held.close()
    other = await serve(answering(OK))  # the freed slot serves another origin
    resp = await client.send(post(other.url()), FAST, "p")
    assert await resp.read() == b'{"ok":true}'
    await client.close()
    await server.stop()
    await other.stop()


async def test_gzip_and_deflate_bodies_are_decoded(client: HttpClient) -> None:
    payload = b'{"text":"' + b"abc" * 2000 + b'"}'
    packed = gzip.compress(payload)
    zipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (
        len(packed),
        packed,
    )
    server = await serve(answering(zipped))
    resp = await client.send(post(server.url()), FAST, "p")
    assert await resp.read() == payload

    deflated = zlib.compress(b"data: 1\n\ndata: 2\n\n")

    async def deflating(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (deflated[:5], deflated[5:]):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"0\r\n\r\n")
        await reader.read()

    await server.stop()
    server = await serve(deflating)
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    got = b""
    while data := await resp.chunk(loop):
        got += data
    assert got == b"data: 1\n\ndata: 2\n\n"
    await server.stop()


@pytest.mark.parametrize(
    "headers", [{"x-a": "1\r\nx-evil: 1"}, {"x-a\nx-evil": "1"}, {"host": "h\r\n"}, {"x-a": "v\r"}]
)
async def test_header_injection_is_rejected(client: HttpClient, headers: dict[str, str]) -> None:
    server = await serve(answering(OK))
    with pytest.raises(ValueError, match="CR or LF"):
        await client.send(HttpRequest("POST", server.url(), headers, b"x"), FAST, "p")
    await asyncio.sleep(0.02)
    assert server.connections == 0
    await server.stop()


async def test_close_during_stream_drops_the_connection(client: HttpClient) -> None:
    server = await serve(sse(*[(0.05, b"data: x\n\n")] * 100))
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    assert await resp.chunk(loop) == b"data: x\n\n"
    resp.close()
    resp.close()
    await asyncio.wait_for(server.closed.wait(), 1.0)
    await server.stop()


async def test_cancelled_send_closes_the_connection(client: HttpClient) -> None:
    server = await serve(silent)
    task = asyncio.ensure_future(client.send(post(server.url()), FAST, "p"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.closed.wait(), 1.0)
    await server.stop()


async def test_read_limit(client: HttpClient) -> None:
    body = b"x" * 1000
    server = await serve(answering(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + body))
    resp = await client.send(post(server.url()), FAST, "p")
    with pytest.raises(UpstreamProtocolError, match="over 100 bytes"):
        await resp.read(100)
    resp = await client.send(post(server.url()), FAST, "p")
    assert await resp.read(1000) == body
    await server.stop()


async def test_backpressure_pauses_reading_until_drained(client: HttpClient) -> None:
    size = 8 * 1024 * 1024

    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // 65536):
            writer.write(b"y" * 65536)
            await writer.drain()
        await reader.read()

    server = await serve(handler)
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    await asyncio.sleep(0.2)
    conn = resp._conn
    assert conn is not None and conn._paused
    assert 1024 * 1024 < conn._buffered < 3 * 1024 * 1024
    total = 0
    while data := await resp.chunk(loop):
        total += len(data)
    assert total == size
    await server.stop()


async def test_keepalive_expiry_and_ipv6_literal() -> None:
    client = HttpClient(UpstreamSettings(keepalive=0.1))
    await client.start()
    try:
        server = await serve(answering(OK), "::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    for _ in range(2):
        resp = await client.send(post(server.url()), FAST, "p")
        assert await resp.read() == b'{"ok":true}'
        await asyncio.sleep(0.15)
    assert server.connections == 2  # the idle one was older than keepalive
    await client.close()
    await server.stop()


async def test_the_cap_evicts_idle_connections_and_hands_slots_across_origins() -> None:
    client = HttpClient(UpstreamSettings(max_connections=1))
    await client.start()
    a, b = await serve(answering(OK)), await serve(answering(OK))
    resp = await client.send(post(a.url()), FAST, "a")
    assert await resp.read() == b'{"ok":true}'  # a's connection is idle now
    resp = await client.send(post(b.url()), FAST, "b")  # at the cap: a's idle connection is closed
    await asyncio.wait_for(a.closed.wait(), 1.0)
    assert await resp.read() == b'{"ok":true}'

    held = await client.send(post(b.url()), FAST, "b")
    to_a = asyncio.ensure_future(client.send(post(a.url()), FAST, "a"))
    await asyncio.sleep(0.05)
    assert await held.read() == b'{"ok":true}'  # b's connection closes, its slot goes to a's waiter
    assert await (await asyncio.wait_for(to_a, 1.0)).read() == b'{"ok":true}'

    held = await client.send(post(a.url()), FAST, "a")
    late = asyncio.ensure_future(client.send(post(b.url()), Timeouts(first_byte=0.1), "b"))
    to_b = asyncio.ensure_future(client.send(post(b.url()), FAST, "b"))
    await asyncio.sleep(0.2)  # the first waiter timed out; the second still waits
    with pytest.raises(UpstreamTimeout):
        await late
    held.close()  # an aborted exchange frees its slot for the next live waiter
    assert await (await asyncio.wait_for(to_b, 1.0)).read() == b'{"ok":true}'
    await client.close()
    with pytest.raises(RuntimeError):
        await client.send(post(a.url()), FAST, "a")
    await a.stop()
    await b.stop()


async def test_interim_answers_are_skipped_and_head_has_no_body(client: HttpClient) -> None:
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Final: 1\r\n\r\n"
    server = await serve(answering(hints + OK, head))
    resp = await client.send(post(server.url()), FAST, "p")
    assert resp.status == 200 and "link" not in resp.headers
    assert await resp.read() == b'{"ok":true}'
    resp = await client.send(HttpRequest("HEAD", server.url(), {}), FAST, "p")
    assert resp.header("x-final") == "1"
    assert await resp.read() == b""
    await server.stop()


async def test_stream_read_whole_and_cancelled_read(client: HttpClient) -> None:
    error = b'{"error":{"message":"bad"}}'
    server = await serve(sse((0.0, error[:10]), (0.05, error[10:]), (0.0, b"")))
    loop = asyncio.get_running_loop()
    resp = await client.send(post(server.url()), FAST, "p", stream=True)
    assert await resp.chunk(loop) == error[:10]
    assert await resp.read(1000) == error[10:]
    assert await resp.read() == b""
    await server.stop()

    async def headers_only(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        await reader.read()

    server = await serve(headers_only)
    resp = await client.send(post(server.url()), FAST, "p")
    task = asyncio.ensure_future(resp.read())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.closed.wait(), 1.0)
    await server.stop()


async def test_bytes_after_an_answer_end_the_connection(client: HttpClient) -> None:
    async def handler(reader: Reader, writer: Writer, n: int) -> None:
        await read_request(reader)
        writer.write(OK + (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" if n == 1 else b""))
        await asyncio.sleep(0.02)
        writer.write(b"junk")  # unsolicited, while the connection is idle
        while await read_request(reader) is not None:
            writer.write(OK)

    server = await serve(handler)
    for _ in range(3):
        resp = await client.send(post(server.url()), FAST, "p")
        assert await resp.read() == b'{"ok":true}'
        await asyncio.sleep(0.05)
    assert server.connections == 3
    await server.stop()


async def test_connect_timeout(client: HttpClient) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue: later handshakes get no answer
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    await asyncio.sleep(0.05)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamTimeout, match="timed out connecting to provider 'p'"):
            await client.send(post(f"http://127.0.0.1:{port}/"), Timeouts(connect=0.2), "p")
        assert time.monotonic() - started < 0.6
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_https(client: HttpClient, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server = Server(answering(OK))
    server._server = await asyncio.start_server(server._handle, "127.0.0.1", 0, ssl=server_ctx)
    server.port = server._server.sockets[0].getsockname()[1]
    url = f"https://127.0.0.1:{server.port}/v1/chat"
    with pytest.raises(UpstreamUnreachable, match=r"cannot connect to provider 'p'.*TLS certificate verif"):
        await client.send(post(url), FAST, "p")  # a self-signed certificate is not trusted

    trusting = HttpClient(UpstreamSettings(ca_file=str(cert)))
    await trusting.start()
    for _ in range(2):
        resp = await trusting.send(post(url), FAST, "p")
        assert await resp.read() == b'{"ok":true}'
    await trusting.close()
    await server.stop()
