"""Hot-path handlers for the model APIs, the model list and health.

Every model API request gets a ``RequestContext`` when it arrives and is settled exactly once
when it is over (answered, failed, refused or abandoned by its client): the ``finally`` of the
handler hands the context to ``Engine.settle``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from time import perf_counter_ns

import orjson

from switchgear.core import hops
from switchgear.core.errors import GatewayError, InvalidJSON, ModelNotFound
from switchgear.core.ids import accept_client_id, new_request_id
from switchgear.engine import Answer, RequestContext
from switchgear.engine.build import Runtime
from switchgear.engine.inbound import identify, prepare
from switchgear.engine.models_view import find_model, list_models
from switchgear.routing.tiering.stage import TIER_HINT
from switchgear.server.asgi import (
    SSE,
    ClientGone,
    DisconnectWatch,
    Headers,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    respond,
    respond_error,
    respond_json,
)
from switchgear.server.errors import error_headers
from switchgear.server.keepalive import kept_alive
from switchgear.server.streams import OpenStreams
from switchgear.stages.request import Prepared

log = logging.getLogger("switchgear.server")
WATCH_DELAY = 0.05


def request_id(scope: Scope) -> str:
    return accept_client_id(header(scope, b"x-request-id")) or new_request_id()


# Client headers a same-family upstream understands, passed on; everything else stays here.
_FORWARDED = (b"anthropic-version", b"anthropic-beta")


def _client_headers(scope: Scope, ctx: RequestContext) -> dict[str, str]:
    """The headers passed on to a same-family upstream; the client's trace context goes to ``ctx``."""
    found = {}
    for name, value in scope["headers"]:
        if name in _FORWARDED:
            found[name.decode()] = value.decode("latin-1")
        elif name == b"traceparent":
            ctx.traceparent = value.decode("latin-1")
    return found


async def _read_request(runtime: Runtime, ctx: RequestContext, scope: Scope, receive: Receive) -> Prepared:
    """Authenticate, read and parse the body, take the first look; the context learns who and what."""
    hops.admit(header(scope, hops.HEADER_BYTES), runtime.settings.server.max_hops)  # loops: 508 here
    ctx.principal = runtime.auth.authenticate(header(scope, b"authorization"), header(scope, b"x-api-key"))
    raw = await read_body(receive, runtime.settings.server.max_body_size, header(scope, b"content-length"))
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the request body is not valid JSON ({exc}); send a JSON object") from None
    request = prepare("messages" if ctx.api == "count_tokens" else ctx.api, body, raw)
    ctx.request = request
    identify(ctx, request, header(scope, b"x-switchgear-tags"))
    if runtime.settings.guardrails and header(scope, b"x-switchgear-guardrails") is not None:
        # no header controls guardrails: the attempt is logged and ignored (docs/guardrails.md)
        logging.getLogger("switchgear.guardrails").warning(
            "request %s (key %s) tried to change guardrails through header x-switchgear-guardrails: ignored",
            ctx.request_id,
            ctx.principal.key_id or "-",
        )
    if runtime.cache_on:
        ctx.cache_headers = _cache_headers(scope)
    if runtime.tiering_on:
        hint = header(scope, b"x-switchgear-tier-hint")
        if hint is not None:
            TIER_HINT.set(ctx, hint.decode("latin-1").strip())
    return request


_CACHE_HEADERS = frozenset(
    (
        b"cache-control",
        b"x-switchgear-cache",
        b"x-switchgear-cache-ttl",
        b"x-switchgear-cache-namespace",
        b"x-switchgear-cache-semantic",
    )
)


def _cache_headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The request's cache controls (header names arrive lower-cased), None when it sent none."""
    found = {name: value for name, value in scope["headers"] if name in _CACHE_HEADERS}
    return found or None


def _keep_traceparent(ctx: RequestContext, scope: Scope) -> None:
    """The client's trace context, for a request that failed before ``_client_headers`` saw it."""
    value = header(scope, b"traceparent")
    if value is not None:
        ctx.traceparent = value.decode("latin-1")


def _id_headers(ctx: RequestContext) -> Headers:
    rid = ctx.request_id.encode()
    if ctx.api in ("messages", "count_tokens"):
        return [(b"x-request-id", rid), (b"request-id", rid)]
    return [(b"x-request-id", rid)]


_HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,256}")  # visible ASCII: no CR/LF, no spaces, bounded


@functools.lru_cache(maxsize=4096)
def _header_safe(value: str) -> bool:
    """A deployment's model id may go in a response header (ids repeat: the answer is cached)."""
    return _HEADER_SAFE.fullmatch(value) is not None


def _answer_headers(ctx: RequestContext, headers: Headers) -> None:
    deployment = ctx.deployment
    if deployment is not None:
        headers.append((b"x-switchgear-provider", deployment.provider.name.encode()))
        if _header_safe(deployment.model):
            headers.append((b"x-switchgear-model", deployment.model.encode()))
    if ctx.model:  # checked printable ASCII (apis.rules); the answer's ``model`` names who answered
        headers.append((b"x-switchgear-requested-model", ctx.model.encode()))
    headers.append((b"x-switchgear-attempts", str(len(ctx.attempts)).encode()))
    if ctx.cache is not None:
        headers.append((b"x-switchgear-cache", ctx.cache.encode()))
    headers.append((b"x-switchgear-overhead-ms", f"{ctx.overhead_ms():.3f}".encode()))
    if ctx.response_headers:
        headers.extend(ctx.response_headers)


async def api(
    runtime: Runtime, api_name: str, scope: Scope, receive: Receive, send: Send, *, streams: OpenStreams
) -> None:
    """Any model API: OpenAI chat / completions / embeddings, Anthropic messages, Responses."""
    ctx = RequestContext(request_id(scope), api_name)
    engine = runtime.engine
    engine.opened += 1
    codec = engine.codecs[api_name]
    headers = _id_headers(ctx)
    started = committed = False
    watch: DisconnectWatch | None = None

    async def write(data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def commit() -> None:  # a stream's status and headers, sent at most once
        nonlocal committed
        if not committed:
            committed = True
            await _start_stream(ctx, headers, send)

    async def refuse(exc: GatewayError) -> None:
        if committed and not started:  # keep-alive comments committed the status: an in-band error
            ctx.fail(exc)
            encoder = codec.stream_encoder(ctx.model, include_usage=False, request=ctx.canonical)
            await write(encoder.error(exc))
            await send({"type": "http.response.body", "body": b""})
        else:
            await _fail(ctx, exc, codec.error_body, headers, send, started=started)

    try:
        request = await _read_request(runtime, ctx, scope, receive)
        watch = DisconnectWatch(receive, WATCH_DELAY)
        serving = engine.serve(ctx, request, _client_headers(scope, ctx))
        interval = runtime.stream_keepalive(request.model) if request.stream else None
        if interval:  # the drain may end a stream committed by keep-alive comments while it waits
            answer = await streams.wait(kept_alive(serving, interval, commit, write))
        else:
            answer = await serving
        if not committed:
            _answer_headers(ctx, headers)
        if isinstance(answer, Answer):
            ctx.first_byte_ns = perf_counter_ns()
            await respond(send, answer.status, answer.body, headers)
            return
        started = True
        await commit()
        await streams.pump(answer, write)  # the drain may end it with an in-band error
        await send({"type": "http.response.body", "body": b""})
    except GatewayError as exc:
        if ctx.attempts and not committed:  # how many upstream attempts the failure comes after
            headers.append((b"x-switchgear-attempts", str(len(ctx.attempts)).encode()))
        await refuse(exc)
    except ClientGone:
        ctx.cancelled = True
    except asyncio.CancelledError:
        ctx.cancelled = True
        if watch is None or not watch.disconnected:
            raise
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
    except Exception:
        await refuse(_internal(ctx))
    finally:
        if watch is not None:
            watch.close()
        if ctx.error is not None and ctx.traceparent is None:
            _keep_traceparent(ctx, scope)  # refused before its headers were read for the upstream
        engine.settle(ctx)


async def _fail(
    ctx: RequestContext,
    exc: GatewayError,
    error_body: Callable[[GatewayError], bytes],
    headers: Headers,
    send: Send,
    *,
    started: bool = False,
) -> None:
    """The request failed: the context records it; the client gets ``exc`` in its API's error shape
    unless its answer has already begun (a stream ends with an in-band error instead)."""
    ctx.fail(exc)
    if not started:
        headers.extend(error_headers(exc))
        await respond(send, exc.status, error_body(exc), headers)


def _internal(ctx: RequestContext) -> GatewayError:
    """Log the unexpected exception being handled; the error the client sees instead of it."""
    log.exception("unexpected error in request %s", ctx.request_id)
    return GatewayError(f"internal error; quote request id {ctx.request_id} when reporting it")


async def _start_stream(ctx: RequestContext, headers: Headers, send: Send) -> None:
    headers.append((b"content-type", SSE))
    headers.append((b"cache-control", b"no-cache"))
    ctx.first_byte_ns = perf_counter_ns()
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def count_tokens(runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /v1/messages/count_tokens`` (Anthropic)."""
    ctx = RequestContext(request_id(scope), "count_tokens")
    runtime.engine.opened += 1
    codec = runtime.engine.codecs["messages"]
    headers = _id_headers(ctx)
    try:
        request = await _read_request(runtime, ctx, scope, receive)
        answer = await runtime.engine.count_tokens(request, _client_headers(scope, ctx))
        ctx.first_byte_ns = perf_counter_ns()
        await respond(send, 200, answer, headers)
    except GatewayError as exc:
        await _fail(ctx, exc, codec.error_body, headers, send)
    except ClientGone:
        ctx.cancelled = True
    except Exception:
        await _fail(ctx, _internal(ctx), codec.error_body, headers, send)
    finally:
        if ctx.error is not None and ctx.traceparent is None:
            _keep_traceparent(ctx, scope)
        runtime.engine.settle(ctx)


async def models(runtime: Runtime, scope: Scope, receive: Receive, send: Send, model_id: str | None) -> None:
    headers: Headers = [(b"x-request-id", request_id(scope).encode())]
    try:
        principal = runtime.auth.authenticate(header(scope, b"authorization"), header(scope, b"x-api-key"))
        governance = runtime.governance
        allows = governance.model_filter(principal.key_id) if governance is not None else None
        if model_id is None:
            data = list_models(runtime.router, allows)
            await respond_json(send, 200, {"object": "list", "data": data}, headers)
            return
        entry = find_model(runtime.router, model_id, allows)
        if entry is None:
            raise ModelNotFound(f"model {model_id!r} does not exist on this gateway", param="model")
        await respond_json(send, 200, entry, headers)
    except GatewayError as exc:
        await respond_error(send, exc, headers)


async def health(ready: bool | None, send: Send) -> None:
    if ready is None:
        await respond_json(send, 200, {"status": "ok"}, [])
    elif ready:
        await respond_json(send, 200, {"status": "ready"}, [])
    else:
        await respond_json(send, 503, {"status": "not ready"}, [])
