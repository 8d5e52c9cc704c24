"""The pipeline: plan, attempt with fail-over, translate when the families differ, settle.

The request arrives prepared (``inbound.prepare``). Candidates come from the router; for each,
the deployment's adapter either passes the client's body through (same wire family: only the
model changes, so provider features the gateway does not model survive) or builds its own
request from the canonical form the client's codec decoded (once, on first need). A retryable
failure (connection, timeout, 429, 5xx, garbage) moves on to the next candidate; that is only
possible before the first byte reaches the client, so a stream is committed once its first
event is in hand. Every finished request is handed to the settle hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from time import perf_counter_ns

import orjson

from switchgear.apis.base import InboundCodec
from switchgear.core.errors import (
    GatewayError,
    InvalidRequest,
    NoDeploymentAvailable,
    UpstreamError,
    UpstreamProtocolError,
)
from switchgear.core.types import ChatRequest
from switchgear.core.usage import Usage
from switchgear.engine.answers import Answer, Settlement, StreamAnswer
from switchgear.engine.context import RequestContext
from switchgear.engine.inbound import Prepared
from switchgear.engine.translate import TranslatingRelay
from switchgear.providers.base import Deployment, StreamRelay
from switchgear.routing.router import Router
from switchgear.transport.client import HttpClient, HttpRequest, UpstreamResponse

SettleHook = Callable[[Settlement], None]
_ERROR_BODY_LIMIT = 1024 * 1024
_OPENAI_ONLY = frozenset({"completions", "embeddings"})


class Engine:
    def __init__(self, router: Router, client: HttpClient, codecs: Mapping[str, InboundCodec]) -> None:
        self.router = router
        self.client = client
        self.codecs = dict(codecs)
        self.settle_hooks: list[SettleHook] = []

    async def serve(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str]
    ) -> Answer | StreamAnswer:
        """Serve a request; raises a GatewayError when no candidate succeeds."""
        plan = self.router.plan(request.model, request.fallbacks)
        try:
            return await self._attempt(ctx, request, headers, plan)
        except asyncio.CancelledError:  # the client left before the answer began
            self._settle(ctx, request, None, 499, None, error="client disconnected", cancelled=True)
            raise
        except GatewayError as exc:
            self._settle(ctx, request, None, exc.status, None, error=exc.message)
            raise

    async def count_tokens(self, request: Prepared, headers: Mapping[str, str]) -> bytes:
        """``/v1/messages/count_tokens``: asked of Anthropic when it serves the model, else estimated."""
        deployment = self.router.plan(request.model)[0]
        adapter = deployment.provider.adapter
        if self._passes_through("messages", deployment) and "count_tokens" in adapter.passthrough_endpoints:
            upstream = adapter.build_passthrough(
                "count_tokens",
                request.body,
                deployment,
                want_usage=False,
                client_headers=headers,
                raw=request.raw,
            )
            response = await self.client.send(
                upstream, deployment.provider.timeouts, deployment.provider.name
            )
            raw = await response.read(_ERROR_BODY_LIMIT)
            if response.status >= 400:
                raise adapter.map_error(response.status, response.headers, raw, deployment.provider.name)
            return raw
        codec = self.codecs[request.api]
        estimate = getattr(codec, "count_tokens_estimate", None)
        decode = getattr(codec, "decode_count_tokens", codec.decode)
        if estimate is None:
            raise InvalidRequest("token counting is not available for this API")
        return orjson.dumps({"input_tokens": estimate(decode(request.body, dict(headers)))})

    def _passes_through(self, api: str, deployment: Deployment) -> bool:
        return deployment.provider.adapter.passes_through(api, deployment)

    async def _upstream_request(
        self,
        request: Prepared,
        headers: Mapping[str, str],
        deployment: Deployment,
        canonical: list[ChatRequest],
    ) -> tuple[HttpRequest, bool]:
        adapter = deployment.provider.adapter
        if self._passes_through(request.api, deployment):
            upstream = adapter.build_passthrough(
                request.api,
                request.body,
                deployment,
                want_usage=True,
                client_headers=headers,
                raw=request.raw,
            )
            return upstream, True
        if request.api in _OPENAI_ONLY:
            raise InvalidRequest(
                f"/v1/{request.api} is served by OpenAI-compatible providers only; "
                f"{deployment.label} is a {adapter.family} deployment",
                param="model",
            )
        if not canonical:
            decoded = self.codecs[request.api].decode(request.body, dict(headers))
            decoded.stream = request.stream
            canonical.append(decoded)
        source = deployment.provider.token_source
        if source is not None:  # a run-time access token (Vertex service account)
            token = await source()
            return adapter.build_request(canonical[0], deployment, access_token=token), False  # type: ignore[call-arg]
        return adapter.build_request(canonical[0], deployment), False

    async def _attempt(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str], plan: list[Deployment]
    ) -> Answer | StreamAnswer:
        loop = asyncio.get_running_loop()
        codec = self.codecs[request.api]
        canonical: list[ChatRequest] = []
        last = len(plan) - 1
        for i, deployment in enumerate(plan):
            ctx.attempts += 1
            adapter = deployment.provider.adapter
            provider = deployment.provider.name
            started = perf_counter_ns()
            response: UpstreamResponse | None = None
            try:
                upstream, passthrough = await self._upstream_request(request, headers, deployment, canonical)
                response = await self.client.send(
                    upstream, deployment.provider.timeouts, provider, stream=request.stream
                )
                if response.status >= 400:
                    raw = await response.read(_ERROR_BODY_LIMIT)
                    raise adapter.map_error(response.status, response.headers, raw, provider)
                if not request.stream:
                    raw = await response.read()
                    ctx.upstream_ns += perf_counter_ns() - started
                    usage: Usage
                    if passthrough:
                        body, usage = adapter.read_answer(request.api, request.body, raw, deployment)
                    else:
                        answer = adapter.parse_response(raw, deployment)
                        body = codec.encode_response(answer, request.model, request=canonical[0])
                        usage = answer.usage
                    self._settle(ctx, request, deployment, 200, usage)
                    return Answer(200, body, deployment, usage)
                content_type = response.header("content-type") or ""
                if content_type.startswith("application/json"):
                    await response.read(_ERROR_BODY_LIMIT)
                    raise UpstreamProtocolError(
                        f"provider {provider!r} answered a stream request with JSON instead of a stream",
                        provider=provider,
                    )
                relay: StreamRelay
                if passthrough:
                    relay = adapter.stream_relay(
                        deployment,
                        client_wants_usage=request.wants_usage,
                        endpoint=request.api,
                    )
                else:
                    encoder = codec.stream_encoder(
                        request.model, include_usage=request.wants_usage, request=canonical[0]
                    )
                    relay = TranslatingRelay(adapter.stream_decoder(deployment), encoder)
                first = b""
                while not first:
                    data = await response.chunk(loop)
                    if not data:
                        if not relay.events:  # nothing at all: still time to try the next deployment
                            raise UpstreamProtocolError(
                                f"provider {provider!r} ended the stream before sending any event",
                                provider=provider,
                            )
                        first = relay.finish()
                        break
                    first = relay.feed(data)
                ctx.upstream_ns += perf_counter_ns() - started
                return StreamAnswer(deployment, response, relay, first, self._stream_ended(ctx, request))
            except UpstreamError as exc:
                if response is not None:
                    response.close()
                ctx.upstream_ns += perf_counter_ns() - started
                ctx.failures.append(exc)
                if not exc.retryable or i == last:
                    raise self._final_error(ctx, exc) from None
            except BaseException:
                if response is not None:
                    response.close()
                raise
        raise NoDeploymentAvailable("no deployment is available for this model")

    def _final_error(self, ctx: RequestContext, exc: UpstreamError) -> UpstreamError:
        if len(ctx.failures) > 1:
            exc.metadata["previous_errors"] = [
                {"provider": f.provider, "message": f.message, "code": f.code} for f in ctx.failures[:-1]
            ]
        return exc

    def _stream_ended(
        self, ctx: RequestContext, request: Prepared
    ) -> Callable[[StreamAnswer, BaseException | None], None]:
        def ended(answer: StreamAnswer, failure: BaseException | None) -> None:
            ctx.upstream_ns += answer.upstream_ns
            cancelled = isinstance(failure, asyncio.CancelledError)
            error = None if failure is None or cancelled else str(failure)
            self._settle(
                ctx, request, answer.deployment, 200, answer.relay.usage, error=error, cancelled=cancelled
            )

        return ended

    def _settle(
        self,
        ctx: RequestContext,
        request: Prepared,
        deployment: Deployment | None,
        status: int,
        usage: Usage | None,
        *,
        error: str | None = None,
        cancelled: bool = False,
    ) -> None:
        if not self.settle_hooks:
            return
        record = Settlement(
            request_id=ctx.request_id,
            api=ctx.api,
            model=request.model,
            deployment=deployment,
            status=status,
            stream=request.stream,
            usage=usage,
            attempts=ctx.attempts,
            overhead_ms=ctx.overhead_ms(),
            duration_ms=(perf_counter_ns() - ctx.started_ns) / 1e6,
            error=error,
            cancelled=cancelled,
        )
        for hook in self.settle_hooks:
            hook(record)
