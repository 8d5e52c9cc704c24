"""The pipeline for OpenAI-style inbound requests: plan, attempt with fail-over, settle.

The body arrives checked (``codecs.openai``). Candidates come from the router; each attempt
builds the upstream request with the deployment's adapter and sends it on the shared client.
A retryable failure (connection, timeout, 429, 5xx, garbage) moves on to the next candidate;
that is only possible before the first byte reaches the client, so a stream is committed once
its first complete event is in hand. Every finished request is handed to the settle hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from switchgear.core.errors import (
    GatewayError,
    NoDeploymentAvailable,
    UpstreamError,
    UpstreamProtocolError,
)
from switchgear.engine.answers import Answer, Settlement, StreamAnswer
from switchgear.engine.codecs.openai import OpenAIRequest
from switchgear.engine.context import RequestContext
from switchgear.providers.base import Deployment, Endpoint
from switchgear.routing.router import Router
from switchgear.transport.client import HttpClient, UpstreamResponse

SettleHook = Callable[[Settlement], None]
_ERROR_BODY_LIMIT = 1024 * 1024


class Engine:
    def __init__(self, router: Router, client: HttpClient) -> None:
        self.router = router
        self.client = client
        self.settle_hooks: list[SettleHook] = []

    async def openai(
        self, ctx: RequestContext, endpoint: Endpoint, request: OpenAIRequest
    ) -> Answer | StreamAnswer:
        """Serve an OpenAI-family request; raises a GatewayError when no candidate succeeds."""
        plan = self.router.plan(request.model, request.fallbacks)
        try:
            return await self._attempt(ctx, endpoint, request, plan)
        except GatewayError as exc:
            self._settle(ctx, request, None, exc.status, None, error=exc.message)
            raise

    async def _attempt(
        self, ctx: RequestContext, endpoint: Endpoint, request: OpenAIRequest, plan: list[Deployment]
    ) -> Answer | StreamAnswer:
        loop = asyncio.get_running_loop()
        last = len(plan) - 1
        for i, deployment in enumerate(plan):
            ctx.attempts += 1
            adapter = deployment.provider.adapter
            upstream_request = adapter.build_passthrough(endpoint, request.body, deployment, want_usage=True)
            started = perf_counter_ns()
            response: UpstreamResponse | None = None
            try:
                response = await self.client.send(
                    upstream_request,
                    deployment.provider.timeouts,
                    deployment.provider.name,
                    stream=request.stream,
                )
                if response.status >= 400:
                    raw = await response.read(_ERROR_BODY_LIMIT)
                    provider = deployment.provider.name
                    raise adapter.map_error(response.status, response.headers, raw, provider)
                if not request.stream:
                    raw = await response.read()
                    ctx.upstream_ns += perf_counter_ns() - started
                    body, usage = adapter.read_answer(endpoint, request.body, raw, deployment)
                    self._settle(ctx, request, deployment, 200, usage)
                    return Answer(200, body, deployment, usage)
                content_type = response.header("content-type") or ""
                if not content_type.startswith("text/event-stream"):
                    raw = await response.read(_ERROR_BODY_LIMIT)
                    raise UpstreamProtocolError(
                        f"provider {deployment.provider.name!r} answered a stream request with "
                        f"{content_type or 'no content type'!r} instead of text/event-stream",
                        provider=deployment.provider.name,
                    )
                relay = adapter.stream_relay(deployment, client_wants_usage=request.wants_usage)
                first = b""
                while not first:
                    data = await response.chunk(loop)
                    if not data:
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
        self, ctx: RequestContext, request: OpenAIRequest
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
        request: OpenAIRequest,
        deployment: Deployment | None,
        status: int,
        usage: Any,
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
