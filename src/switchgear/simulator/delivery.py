"""How a simulated answer reaches the client under its script, for every wire family.

The wire modules decide *what* to answer (a JSON document, or a list of already-encoded stream
frames); this module decides *how* it is delivered: the ``latency_ms`` before the headers, the
scripted error answer (honouring ``fail_times`` counters, ``retry_after`` and a raw
``error_body``), and the misbehaviours — ``stall_after`` (stop sending, keep the connection
open), ``disconnect_after`` (abort the TCP connection), ``malformed_after`` (inject a frame that
is not valid JSON) — plus ``ttfb_ms``/``gap_ms`` pacing of streams. It also notices a client that
goes away mid-response and marks the request's record as cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import orjson
from aiohttp import web

from switchgear.simulator.recording import DISCONNECTED, STALLED, RecordedRequest, SimState
from switchgear.simulator.script import Script
from switchgear.simulator.text import dumps


def request_key(name: str, kind: type[Any]) -> Any:
    """A request-storage key: ``web.RequestKey`` where aiohttp has it (3.13+), else the name."""
    factory = getattr(web, "RequestKey", None)
    return factory(name, kind) if factory is not None else name


STATE_KEY = web.AppKey("switchgear_sim_state", SimState)
RECORD_KEY = request_key("switchgear_sim_record", RecordedRequest)
MALFORMED_SSE = b"data: {not json\n\n"
MALFORMED_BODY = b"{not json"

# (status, error_type, error_message, error_code) -> the family's JSON error body
ErrorFormatter = Callable[[int, str | None, str | None, str | None], bytes]


class Reject(Exception):
    """Raised by a handler to answer immediately with ``response`` (validation errors)."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(f"rejected with HTTP {response.status}")
        self.response = response


def state_of(request: web.Request) -> SimState:
    """The simulator state of the app serving ``request``."""
    return request.app[STATE_KEY]


def record_of(request: web.Request) -> RecordedRequest | None:
    """The record of ``request`` (``None`` for the simulator's own control endpoints)."""
    value = request.get(RECORD_KEY)
    return value if isinstance(value, RecordedRequest) else None


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response encoded with :func:`dumps` (big integers survive)."""
    return web.Response(status=status, body=dumps(payload), content_type="application/json", headers=headers)


async def sleep_ms(milliseconds: float) -> None:
    """Sleep for a scripted number of milliseconds (no-op for 0)."""
    if milliseconds > 0:
        await asyncio.sleep(milliseconds / 1000.0)


async def stall(request: web.Request) -> NoReturn:
    """Stop answering and hold the connection open until the client leaves or the server stops."""
    record = record_of(request)
    if record is not None:
        record.mark(STALLED)
    await asyncio.Event().wait()
    raise AssertionError("unreachable: a stall only ends by cancellation")


def abort(request: web.Request) -> None:
    """Drop the TCP connection abruptly (no response, or a truncated one)."""
    record = record_of(request)
    if record is not None:
        record.mark(DISCONNECTED)
    transport = request.transport
    if transport is not None:
        transport.abort()


def _guess_content_type(body: str) -> str:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return "text/html" if body.lstrip().startswith("<") else "text/plain"
    return "application/json"


async def scripted_failure(
    request: web.Request, script: Script, default_key: str, formatter: ErrorFormatter
) -> web.Response | None:
    """The scripted error answer for this request, or ``None`` when it should succeed."""
    if not script.wants_error:
        return None
    if not state_of(request).should_fail(script.fail_key or default_key, script.fail_times):
        return None
    await sleep_ms(script.latency_ms)
    headers = {"Retry-After": script.retry_after} if script.retry_after is not None else None
    status = script.error_status
    if script.error_body is not None:
        return web.Response(
            status=status,
            body=script.error_body.encode(),
            content_type=_guess_content_type(script.error_body),
            headers=headers,
        )
    body = formatter(status, script.error_type, script.error_message, script.error_code)
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def send_body(
    request: web.Request,
    script: Script,
    body: bytes,
    *,
    status: int = 200,
    content_type: str = "application/json",
) -> web.StreamResponse:
    """Deliver a complete (non-streamed) body, applying latency and the scripted misbehaviours.

    ``stall_after=N`` / ``disconnect_after=N`` send the headers and the first N bytes of the body
    before stalling / aborting (N=0: nothing at all); ``malformed_after`` replaces the body with
    one that is not valid JSON.
    """
    await sleep_ms(script.latency_ms)
    if script.malformed_after is not None:
        body = MALFORMED_BODY
    points = [p for p in (script.stall_after, script.disconnect_after) if p is not None]
    if not points:
        return web.Response(status=status, body=body, content_type=content_type)
    point = min(points)
    stalls = script.stall_after == point
    if point == 0:
        if stalls:
            await stall(request)
        abort(request)
        return web.Response(status=status)
    response = web.StreamResponse(status=status)
    response.content_type = content_type
    response.content_length = len(body)
    try:
        await response.prepare(request)
        await response.write(body[:point])
    except ConnectionError:
        _cancelled(request)
        return response
    if stalls:
        await stall(request)
    abort(request)
    return response


async def send_stream(
    request: web.Request,
    script: Script,
    frames: Sequence[bytes],
    *,
    malformed: bytes = MALFORMED_SSE,
    content_type: str = "text/event-stream",
) -> web.StreamResponse:
    """Deliver a stream of pre-encoded frames, paced and broken as the script says.

    A "chunk" for ``stall_after``/``disconnect_after``/``malformed_after``/``drip_after`` is one
    frame (for SSE, one ``data:`` event, the initial role chunk and the ``[DONE]`` marker included).
    From frame ``drip_after`` on, the frames trickle one byte at a time, ``gap_ms`` (else 1 s) apart.
    """
    await sleep_ms(script.latency_ms)
    response = web.StreamResponse(status=200, headers={"Cache-Control": "no-cache"})
    response.content_type = content_type
    try:
        await response.prepare(request)
        await sleep_ms(script.ttfb_ms)
        for index in range(len(frames) + 1):
            if index == script.stall_after:
                await stall(request)
            if index == script.disconnect_after:
                abort(request)
                return response
            if index == len(frames):
                break
            if index > 0:
                await sleep_ms(script.gap_ms)
            if index == script.malformed_after:
                await response.write(malformed)
            if script.drip_after is not None and index >= script.drip_after:
                await _drip(response, frames[index], script.gap_ms or 1000.0)
                continue
            await response.write(frames[index])
        await response.write_eof()
    except ConnectionError:
        _cancelled(request)
        return response
    record = record_of(request)
    if record is not None:
        record.mark_completed()
    return response


async def _drip(response: web.StreamResponse, frame: bytes, gap_ms: float) -> None:
    for i in range(len(frame)):
        if i:
            await sleep_ms(gap_ms)
        await response.write(frame[i : i + 1])


def _cancelled(request: web.Request) -> None:
    record = record_of(request)
    if record is not None and not state_of(request).stopping:
        record.mark_cancelled()
