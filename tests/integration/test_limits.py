"""Limits that hold before any credential is checked: request-head size and deadline, connections.

The gateway runs as `switchgear serve` in a child process, so its memory can be read from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.served import ServedGateway

CHAT = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def served(sim: SimulatorThread) -> Iterator[ServedGateway]:
    with ServedGateway(base_config(sim, header_timeout="3s")) as gateway:
        yield gateway


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def test_a_head_over_the_limit_is_431_and_one_under_it_is_served(served: ServedGateway) -> None:
    too_big = httpx.get(served.url + "/health", headers={"x-pad": "a" * 200_000})
    assert too_big.status_code == 431
    error = too_big.json()["error"]
    assert error["code"] == "request_header_fields_too_large"
    assert "65536 bytes (server.max_header_size)" in error["message"]
    many = {f"x-pad-{i}": "b" * 1000 for i in range(80)}  # 80 KB in many headers
    assert httpx.get(served.url + "/health", headers=many).status_code == 431
    fits = {f"x-pad-{i}": "c" * 1000 for i in range(50)}
    assert httpx.get(served.url + "/health", headers=fits).status_code == 200


def test_a_large_body_sent_with_its_head_in_one_write_is_not_mistaken_for_a_large_head(
    served: ServedGateway,
) -> None:
    body = orjson.dumps({**CHAT, "messages": [{"role": "user", "content": "word " * 400_000}]})
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    answer = raw_exchange(served.port, head + body)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_a_head_sent_one_byte_per_second_is_closed_at_the_deadline(served: ServedGateway) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        received = b""
        for byte in b"x-slow: " + b"z" * 20:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(1.0)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            received += chunk
            if not chunk or received.endswith(b"}"):
                break
        closed_after = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 408 "), received
    assert b'"code":"request_timeout"' in received
    assert 2.8 <= closed_after <= 4.5, closed_after


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(served: ServedGateway) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert 2.8 <= time.monotonic() - started <= 4.5


def test_an_idle_keep_alive_connection_is_still_closed_after_its_timeout(served: ServedGateway) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=15) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert 4.5 <= time.monotonic() - started <= 7


async def _flood(port: int, connections: int, head_bytes: int) -> None:
    """``connections`` clients each sending ``head_bytes`` of headers that never end."""
    line = b"x-flood: " + b"f" * 1000 + b"\r\n"

    async def one() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
            sent = 0
            while sent < head_bytes:
                writer.write(line * 64)
                sent += len(line) * 64
                await writer.drain()
            await asyncio.sleep(1)
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)), return_exceptions=True)


async def _served_meanwhile(url: str, stop: asyncio.Event) -> list[int]:
    statuses = []
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            statuses.append((await client.post(url + "/v1/chat/completions", json=CHAT)).status_code)
            await asyncio.sleep(0.02)
    return statuses


def test_300_connections_with_a_megabyte_of_headers_each_leave_memory_near_idle(sim: SimulatorThread) -> None:
    with ServedGateway(base_config(sim)) as gateway:
        for _ in range(50):
            assert httpx.post(gateway.url + "/v1/chat/completions", json=CHAT).status_code == 200
        idle_kb = gateway.memory_kb("VmRSS")

        async def attack() -> list[int]:
            stop = asyncio.Event()
            meanwhile = asyncio.create_task(_served_meanwhile(gateway.url, stop))
            await _flood(gateway.port, connections=300, head_bytes=1_000_000)
            stop.set()
            return await meanwhile

        statuses = asyncio.run(attack())
        peak_kb = gateway.memory_kb("VmHWM")
        after_kb = gateway.memory_kb("VmRSS")
        assert statuses and set(statuses) == {200}
        assert httpx.post(gateway.url + "/v1/chat/completions", json=CHAT).status_code == 200
    assert peak_kb - idle_kb < 50 * 1024, (idle_kb, peak_kb, after_kb)


def test_connections_beyond_the_cap_are_refused_while_open_ones_keep_working(sim: SimulatorThread) -> None:
    with ServedGateway(base_config(sim, max_connections=4)) as gateway:
        clients = [httpx.Client(base_url=gateway.url, timeout=5) for _ in range(4)]
        try:
            for client in clients:
                assert client.get("/health").status_code == 200
            refused = raw_exchange(gateway.port, b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
            assert refused.startswith(b"HTTP/1.1 503 "), refused
            assert b"retry-after: 1" in refused and b'"code":"too_many_connections"' in refused
            for client in clients:  # the open connections are untouched
                assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        finally:
            clients.pop().close()
        deadline = time.monotonic() + 5
        while (
            raw_exchange(gateway.port, b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")[:12]
            != b"HTTP/1.1 200"
        ):
            assert time.monotonic() < deadline, "a freed connection slot was not reused"
            time.sleep(0.05)
        for client in clients:
            client.close()
        assert "refusing new connections: 4 are open (server.max_connections)" in gateway.stderr()
