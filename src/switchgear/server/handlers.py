"""Hot-path handlers for the OpenAI-compatible APIs, the model list and health."""

from __future__ import annotations

import asyncio
import logging

import orjson

from switchgear.core.errors import GatewayError, InvalidJSON, ModelNotFound
from switchgear.core.ids import accept_client_id, new_request_id
from switchgear.engine import Answer, RequestContext
from switchgear.engine.build import Runtime
from switchgear.engine.inbound import prepare
from switchgear.engine.models_view import find_model, list_models
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

log = logging.getLogger("switchgear.server")
WATCH_DELAY = 0.05


def request_id(scope: Scope) -> str:
    return accept_client_id(header(scope, b"x-request-id")) or new_request_id()


# Client headers a same-family upstream understands, passed on; everything else stays here.
_FORWARDED = (b"anthropic-version", b"anthropic-beta")


def _client_headers(scope: Scope) -> dict[str, str]:
    found = {}
    for name, value in scope["headers"]:
        if name in _FORWARDED:
            found[name.decode()] = value.decode("latin-1")
    return found


async def api(runtime: Runtime, api_name: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Any model API: OpenAI chat / completions / embeddings, Anthropic messages, Responses."""
    ctx = RequestContext(request_id(scope), api_name)
    codec = runtime.engine.codecs[api_name]
    headers: Headers = [(b"x-request-id", ctx.request_id.encode())]
    if api_name == "messages":
        headers.append((b"request-id", ctx.request_id.encode()))
    started = False
    watch: DisconnectWatch | None = None
    try:
        runtime.auth.authenticate(header(scope, b"authorization"), header(scope, b"x-api-key"))
        raw = await read_body(
            receive, runtime.settings.server.max_body_size, header(scope, b"content-length")
        )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON(f"the request body is not valid JSON ({exc}); send a JSON object") from None
        request = prepare(api_name, body, raw)
        client_headers = _client_headers(scope)
        watch = DisconnectWatch(receive, WATCH_DELAY)
        answer = await runtime.engine.serve(ctx, request, client_headers)
        deployment = answer.deployment
        headers.append((b"x-switchgear-provider", deployment.provider.name.encode()))
        headers.append((b"x-switchgear-model", deployment.model.encode()))
        headers.append((b"x-switchgear-attempts", str(ctx.attempts).encode()))
        headers.append((b"x-switchgear-overhead-ms", f"{ctx.overhead_ms():.3f}".encode()))
        if isinstance(answer, Answer):
            await respond(send, answer.status, answer.body, headers)
            return
        headers.append((b"content-type", SSE))
        headers.append((b"cache-control", b"no-cache"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        started = True

        async def write(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        await answer.pump(write)
        await send({"type": "http.response.body", "body": b""})
    except GatewayError as exc:
        if not started:
            headers.extend(error_headers(exc))
            await respond(send, exc.status, codec.error_body(exc), headers)
    except ClientGone:
        return
    except asyncio.CancelledError:
        if watch is None or not watch.disconnected:
            raise
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
    except Exception:
        log.exception("unexpected error in request %s", ctx.request_id)
        if not started:
            error = GatewayError(f"internal error; quote request id {ctx.request_id} when reporting it")
            await respond(send, error.status, codec.error_body(error), headers)
    finally:
        if watch is not None:
            watch.close()


async def count_tokens(runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /v1/messages/count_tokens`` (Anthropic)."""
    codec = runtime.engine.codecs["messages"]
    rid = request_id(scope).encode()
    headers: Headers = [(b"x-request-id", rid), (b"request-id", rid)]
    try:
        runtime.auth.authenticate(header(scope, b"authorization"), header(scope, b"x-api-key"))
        raw = await read_body(
            receive, runtime.settings.server.max_body_size, header(scope, b"content-length")
        )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON(f"the request body is not valid JSON ({exc}); send a JSON object") from None
        answer = await runtime.engine.count_tokens(prepare("messages", body, raw), _client_headers(scope))
        await respond(send, 200, answer, headers)
    except GatewayError as exc:
        headers.extend(error_headers(exc))
        await respond(send, exc.status, codec.error_body(exc), headers)
    except ClientGone:
        return
    except Exception:
        log.exception("unexpected error in request %s", rid.decode())
        error = GatewayError(f"internal error; quote request id {rid.decode()} when reporting it")
        await respond(send, error.status, codec.error_body(error), headers)


async def models(runtime: Runtime, scope: Scope, receive: Receive, send: Send, model_id: str | None) -> None:
    headers: Headers = [(b"x-request-id", request_id(scope).encode())]
    try:
        runtime.auth.authenticate(header(scope, b"authorization"), header(scope, b"x-api-key"))
        if model_id is None:
            await respond_json(send, 200, {"object": "list", "data": list_models(runtime.router)}, headers)
            return
        entry = find_model(runtime.router, model_id)
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
