"""The pipeline: admit, answer early, plan, attempt with fail-over, translate, settle.

The request arrives prepared (``inbound.prepare``) with its context. The stages' hooks run at
their points (``chain.StageChain``); then candidates come from the router, reordered by the plan
stages, and for each the deployment's adapter either passes the client's body through (same wire
family, and no stage reads or rewrites the request or answer: only the model changes, so provider
features the gateway does not model survive) or builds its own request from the canonical form
the client's codec decoded (once, on first need). A retryable failure (connection, timeout, 429,
5xx, garbage) moves on to the next candidate; that is only possible before the first byte reaches
the client, so a stream is committed once its first event is in hand. The server hands every
finished request's context to ``settle`` exactly once.

Every answer carries its cost: a whole answer is priced once its usage is known (the serving
deployment's prices; an early answer costs ``ctx.fixed_cost_nanousd``), the price kept in the
context for settle, sent as ``x-switchgear-cost`` and as ``usage.cost`` in the body (added to a
passed-through body's bytes, or written by the client's codec). Streams carry it in-band only,
in their usage-bearing event (priced there by the passthrough relays and the client's encoders).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from time import monotonic, perf_counter_ns

import orjson

from switchgear.apis.base import InboundCodec, StreamEncoder
from switchgear.catalog.costs import fixed
from switchgear.config.model import SettleSettings
from switchgear.core.assemble import events_of, response_of
from switchgear.core.errors import (
    AnswerRejected,
    GatewayError,
    InvalidRequest,
    UpstreamError,
    UpstreamProtocolError,
)
from switchgear.core.money import usd_text
from switchgear.core.redact import Redactor
from switchgear.core.types import ChatRequest, ChatResponse
from switchgear.core.usage import Usage, with_cost
from switchgear.engine.answers import Answer, StreamAnswer
from switchgear.engine.chain import StageChain
from switchgear.engine.hedge import Claim, Lost, Try, hedged
from switchgear.engine.translate import TranslatingRelay
from switchgear.observability.trace_context import Propagation
from switchgear.providers.base import Deployment, StreamRelay
from switchgear.routing.health import Health
from switchgear.routing.retry import Retries
from switchgear.routing.router import Router
from switchgear.stages.base import EarlyAnswer, Stage
from switchgear.stages.context import Attempt, RequestContext
from switchgear.stages.request import Prepared
from switchgear.transport.client import HttpClient, HttpRequest, UpstreamResponse

_COST_HEADER_TEXT = "x-switchgear-cost"
_ERROR_BODY_LIMIT = 1024 * 1024
_OPENAI_ONLY = frozenset({"completions", "embeddings"})


class Engine:
    def __init__(
        self,
        router: Router,
        client: HttpClient,
        codecs: Mapping[str, InboundCodec],
        stages: Sequence[Stage] = (),
        settle: SettleSettings | None = None,
        *,
        redactor: Redactor | None = None,
        propagation: Propagation | None = None,
    ) -> None:
        self.router = router
        self.client = client
        self.codecs = dict(codecs)
        self.chain = StageChain(stages, settle)
        # requests the server has opened and settled: their difference is the requests in flight
        self.opened = 0
        self.settled = 0
        # Applied once to every error leaving the engine (configured secrets, key shapes).
        self.redactor = redactor or Redactor()
        # Tracing on: each upstream attempt of a traced request is sent its span's traceparent.
        self.propagation = propagation

    async def serve(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str]
    ) -> Answer | StreamAnswer:
        """Serve a request; raises a GatewayError when no candidate succeeds."""
        ctx.request = request
        chain = self.chain
        try:
            decodable = request.api not in _OPENAI_ONLY
            if chain.reads_request and decodable:
                self._canonical(ctx, request, headers)
            for admit in chain.admit:
                await admit(ctx)
            if chain.early and decodable:
                for early in chain.early:
                    made = await early(ctx)
                    if made is not None:
                        return self._early(ctx, request, headers, made)
            router = self.router
            router.budget.deposit()
            plan = router.plan(request.model, request.fallbacks, stream=request.stream, request=request)
            for reorder in chain.plan:
                plan = await reorder(ctx, plan)
            if not plan:
                raise router.unavailable(request.model, request.fallbacks)
            return await self._attempt(ctx, request, headers, plan)
        except asyncio.CancelledError:  # the client left before the answer began
            ctx.cancelled = True
            raise
        except GatewayError as exc:
            ctx.fail(self.redactor.error(exc))
            raise

    async def serve_inner(self, ctx: RequestContext, request: Prepared) -> Answer | StreamAnswer:
        """A request a stage makes on behalf of the one it serves (a cascade's judge): planned and
        attempted like any (routing, the plan stages, fail-over, the answer transforms), without
        admission or early answers — the outer request was admitted and pays for it — and never
        settled on its own (its cost is the caller's to add to the outer request's)."""
        ctx.request = request
        if self.chain.reads_request:
            self._canonical(ctx, request, {})
        self.router.budget.deposit()
        plan = self.router.plan(request.model, request.fallbacks, stream=request.stream, request=request)
        for reorder in self.chain.plan:
            plan = await reorder(ctx, plan)
        if not plan:
            raise self.router.unavailable(request.model, request.fallbacks)
        return await self._attempt(ctx, request, {}, plan)

    def settle(self, ctx: RequestContext) -> None:
        """The request is over (answered, failed or abandoned): hand its record to the consumers."""
        ctx.ended_ns = perf_counter_ns()
        self.settled += 1
        self.chain.settle(ctx)

    def in_flight(self) -> int:
        """Requests opened and not yet settled in this worker."""
        return self.opened - self.settled

    async def count_tokens(self, request: Prepared, headers: Mapping[str, str]) -> bytes:
        """``/v1/messages/count_tokens``: asked of Anthropic when it serves the model, else estimated."""
        deployment = self.router.resolve(request.model)[0]
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
                upstream, deployment.timeouts or deployment.provider.timeouts, deployment.provider.name
            )
            raw = await response.read(_ERROR_BODY_LIMIT)
            if response.status >= 400:
                error = adapter.map_error(response.status, response.headers, raw, deployment.provider.name)
                raise self.redactor.error(error)
            return raw
        codec = self.codecs[request.api]
        estimate = getattr(codec, "count_tokens_estimate", None)
        decode = getattr(codec, "decode_count_tokens", codec.decode)
        if estimate is None:
            raise InvalidRequest("token counting is not available for this API")
        return orjson.dumps({"input_tokens": estimate(decode(request.body, dict(headers)))})

    def _passes_through(self, api: str, deployment: Deployment) -> bool:
        return deployment.provider.adapter.passes_through(api, deployment)

    def _canonical(self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str]) -> ChatRequest:
        """The decoded request, decoded once per request."""
        if ctx.canonical is None:
            decoded = self.codecs[request.api].decode(request.body, dict(headers))
            decoded.stream = request.stream
            ctx.canonical = decoded
        return ctx.canonical

    def _early(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str], made: EarlyAnswer
    ) -> Answer | StreamAnswer:
        """A stage's answer, encoded for the client as it asked (streamed or whole)."""
        codec = self.codecs[request.api]
        canonical = self._canonical(ctx, request, headers)
        ctx.cache = made.cache
        ctx.fixed_cost_nanousd = cost = 0  # nothing was asked of a provider
        if request.stream:
            events = list(made.events) if made.events is not None else events_of(_whole(made))
            encoder = codec.stream_encoder(
                request.model, include_usage=request.wants_usage, request=canonical, price=fixed(cost)
            )
            body = encoder.encode(events) + encoder.finish()
            ctx.usage = response_of(events).usage
            return StreamAnswer(None, None, None, body, _ignore)
        response = _whole(made)
        ctx.usage = response.usage
        return Answer(
            200,
            codec.encode_response(
                response, response.model or request.model, request=canonical, cost=self._price(ctx)
            ),
            None,
            response.usage,
        )

    async def _upstream_request(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str], deployment: Deployment
    ) -> tuple[HttpRequest, bool]:
        adapter = deployment.provider.adapter
        passthrough = request.api in _OPENAI_ONLY or (
            self._passes_through(request.api, deployment)
            and not self.chain.reads_answer
            and not ctx.request_rewritten
        )
        if passthrough and not self._passes_through(request.api, deployment):
            raise InvalidRequest(
                f"/v1/{request.api} is served by OpenAI-compatible providers only; "
                f"{deployment.label} is a {adapter.family} deployment",
                param="model",
            )
        source = deployment.provider.token_source
        token = await source() if source is not None else None  # run-time credentials, made fresh
        if passthrough:
            upstream = adapter.build_passthrough(
                request.api,
                request.body,
                deployment,
                want_usage=True,
                client_headers=headers,
                raw=request.raw,
            )
            return upstream, True
        canonical = self._canonical(ctx, request, headers)
        if source is not None:  # a run-time access token (Vertex) or credential chain (Bedrock)
            return adapter.build_request(canonical, deployment, access_token=token), False  # type: ignore[call-arg]
        return adapter.build_request(canonical, deployment), False

    async def _attempt(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str], plan: list[Deployment]
    ) -> Answer | StreamAnswer:
        """Each candidate in turn until one answers (``routing.retry.Retries`` says what a failure
        allows: the next candidate, a backoff and another round over the pool, a fallback model);
        the first attempt hedged when the model says so (``engine.hedge``)."""
        router = self.router
        retries = Retries(router, request, ctx.started_ns)
        hedge = retries.hedge_after()
        i = 0
        while i < len(plan):
            deployment = plan[i]
            i += 1
            health = router.health_of(deployment)
            took = health.begin(monotonic()) if retries.in_time() else 0
            if not took:
                continue
            try:
                if hedge is None:
                    answer = await self._try(
                        ctx, request, headers, deployment, health=health, took=took, retries=retries
                    )
                else:
                    racer = self._racer(ctx, request, headers, retries)
                    answer, i = await hedged(
                        racer, router, plan, i, first=(deployment, health, took), after=hedge
                    )
                retries.served(ctx, answer.deployment or deployment)
                return answer
            except UpstreamError as exc:
                hedge = None
                more = await retries.after(exc, deployment, plan, i)
                if more is None:
                    raise self._final_error(ctx, exc) from None
                plan = more
        if retries.last is not None:
            raise self._final_error(ctx, retries.last)
        raise router.unavailable(request.model, request.fallbacks)

    def _racer(
        self, ctx: RequestContext, request: Prepared, headers: Mapping[str, str], retries: Retries
    ) -> Try:
        """``_try`` for ``engine.hedge``: the request's part bound, the attempt's left open."""

        def attempt(d: Deployment, h: Health, took: int, claim: Claim) -> Awaitable[Answer | StreamAnswer]:
            if ctx.hedged is None:
                ctx.hedged = []
            ctx.hedged.append(d)  # every attempt the hedge starts is billed (the losers their prompt)
            return self._try(ctx, request, headers, d, health=h, took=took, retries=retries, claim=claim)

        return attempt

    async def _try(
        self,
        ctx: RequestContext,
        request: Prepared,
        headers: Mapping[str, str],
        deployment: Deployment,
        *,
        health: Health,
        took: int,
        retries: Retries,
        claim: Claim | None = None,
    ) -> Answer | StreamAnswer:
        """One attempt at ``deployment`` (already counted in flight by ``health.begin``): its
        answer, or the UpstreamError it failed with (its outcome recorded either way)."""
        started = perf_counter_ns()
        response: UpstreamResponse | None = None
        head_ns = 0
        try:
            upstream, passthrough = await self._upstream_request(ctx, request, headers, deployment)
            if self.propagation is not None:
                traceparent = self.propagation.traceparent(ctx)
                if traceparent is not None:
                    upstream.headers["traceparent"] = traceparent
            response = await self.client.send(
                upstream, retries.timeouts(deployment), deployment.provider.name, stream=request.stream
            )
            head_ns = perf_counter_ns()
            if response.status >= 400:
                raw = await response.read(_ERROR_BODY_LIMIT)
                raise deployment.provider.adapter.map_error(
                    response.status, response.headers, raw, deployment.provider.name
                )
            if request.stream:
                answer: Answer | StreamAnswer = await self._open_stream(
                    ctx, request, deployment, response, passthrough, claim=claim
                )
            else:
                answer = await self._whole_answer(
                    ctx, request, deployment, response, passthrough, claim=claim
                )
                health.end(_tokens(answer.usage))
            self._outcome(ctx, deployment, started, head_ns, status=response.status, error=None)
            return answer
        except UpstreamError as exc:
            health.end()
            if response is not None:
                response.close()
            if isinstance(exc, AnswerRejected):  # paid for, then refused: billed with the request
                ctx.rejected_nanousd += ctx.fixed_cost_nanousd or 0
                ctx.fixed_cost_nanousd = None  # the next answer's x-switchgear-cost says the total
            self._outcome(
                ctx, deployment, started, head_ns, status=getattr(exc, "upstream_status", None), error=exc
            )
            raise
        except BaseException:
            health.end()
            health.abandon(took)
            if response is not None:
                response.close()
            ctx.upstream_ns += perf_counter_ns() - started
            raise

    def _outcome(
        self,
        ctx: RequestContext,
        deployment: Deployment,
        started: int,
        head_ns: int,
        *,
        status: int | None,
        error: UpstreamError | None,
    ) -> None:
        now = perf_counter_ns()
        ctx.upstream_ns += now - started
        if error is not None:  # what an upstream wrote may echo a secret: clean before any stage sees it
            self.redactor.error(error)
        attempt = Attempt(
            deployment=deployment,
            status=status,
            latency_ms=(now - started) / 1e6,
            ttfb_ms=(head_ns - started) / 1e6 if head_ns else None,
            error=error,
            offset_ms=(started - ctx.started_ns) / 1e6,
        )
        ctx.attempts.append(attempt)
        for observe in self.chain.outcome:
            observe(ctx, attempt)

    async def _whole_answer(
        self,
        ctx: RequestContext,
        request: Prepared,
        deployment: Deployment,
        response: UpstreamResponse,
        passthrough: bool,
        *,
        claim: Claim | None = None,
    ) -> Answer:
        raw = await response.read()
        if claim is not None and not claim():  # a hedged attempt that answered second
            raise Lost()
        adapter = deployment.provider.adapter
        if passthrough:
            body, usage = adapter.read_answer(request.api, request.body, raw, deployment)
            self._served(ctx, deployment, usage)  # before any transform: a refused answer was still paid for
            cost = self._price(ctx)
            if cost is not None and usage.reported:  # else the body holds no usage object to add to
                body = with_cost(body, ("usage",), cost)
        else:
            answer = adapter.parse_response(raw, deployment)
            usage = answer.usage
            self._served(ctx, deployment, usage)
            ctx.fixed_cost_nanousd = ctx.answer_cost_nanousd()  # first: a refused answer is paid too
            for transform in self.chain.answer:
                answer = await transform(ctx, answer)
            cost = self._price(ctx)  # after them: a transform may have paid for a call (a judge)
            served = answer.model or deployment.model  # the model that answered, as its provider names it
            body = self.codecs[request.api].encode_response(answer, served, request=ctx.canonical, cost=cost)
        for rewrite in self.chain.body:
            body = await rewrite(ctx, body)
        return Answer(200, body, deployment, usage)

    async def _open_stream(
        self,
        ctx: RequestContext,
        request: Prepared,
        deployment: Deployment,
        response: UpstreamResponse,
        passthrough: bool,
        *,
        claim: Claim | None = None,
    ) -> StreamAnswer:
        provider = deployment.provider.name
        content_type = response.header("content-type") or ""
        if content_type.startswith("application/json"):
            await response.read(_ERROR_BODY_LIMIT)
            raise UpstreamProtocolError(
                f"provider {provider!r} answered a stream request with JSON instead of a stream",
                provider=provider,
            )
        adapter = deployment.provider.adapter
        relay: StreamRelay
        if passthrough:
            relay = adapter.stream_relay(
                deployment, client_wants_usage=request.wants_usage, endpoint=request.api
            )
        else:
            codec, canonical, usage = self.codecs[request.api], ctx.canonical, request.wants_usage
            price = deployment.price

            def encoder(model: str) -> StreamEncoder:  # named by the stream's first event
                return codec.stream_encoder(model, include_usage=usage, request=canonical, price=price)

            transforms = self.chain.transforms(ctx) if self.chain.stream else []
            decoder = adapter.stream_decoder(deployment)
            relay = TranslatingRelay(
                decoder, encoder, transforms, model=deployment.model, redactor=self.redactor
            )
        for wrap in self.chain.wrap:
            relay = wrap(ctx, relay)
        loop = asyncio.get_running_loop()
        first = b""
        while not first:
            data = await response.chunk(loop)
            if not data:
                if not relay.events:  # nothing at all: still time to try the next deployment
                    raise UpstreamProtocolError(
                        f"provider {provider!r} ended the stream before sending any event", provider=provider
                    )
                first = relay.finish()
                break
            first = relay.feed(data)
        if claim is not None and not claim():  # a hedged attempt that began second
            raise Lost()
        if relay.failed is not None and first:  # an in-band error already: its text may echo a secret
            first = self.redactor(first.decode("utf-8", "replace")).encode()
        ctx.deployment = deployment
        ended = self._stream_ended(ctx)
        return StreamAnswer(deployment, response, relay, first, ended, redactor=self.redactor)

    def _served(self, ctx: RequestContext, deployment: Deployment, usage: Usage | None) -> None:
        ctx.deployment = deployment  # the cost follows from these two, priced when asked
        ctx.usage = usage

    def _price(self, ctx: RequestContext) -> int | None:
        """A whole answer's cost, priced once (kept for settle) and sent as ``x-switchgear-cost``;
        None when the serving deployment has no price (then neither header nor ``usage.cost``)."""
        ctx.fixed_cost_nanousd = ctx.answer_cost_nanousd()
        cost = ctx.cost_nanousd
        if cost is not None:
            ctx.add_header(_COST_HEADER_TEXT, usd_text(cost))
        return cost

    def _final_error(self, ctx: RequestContext, exc: UpstreamError) -> UpstreamError:
        failures = [a.error for a in ctx.attempts[:-1] if a.error is not None]
        if failures:
            exc.metadata["previous_errors"] = [
                {"provider": f.provider, "message": f.message, "code": f.code} for f in failures
            ]
        return exc

    def _stream_ended(self, ctx: RequestContext) -> Callable[[StreamAnswer], None]:
        def ended(answer: StreamAnswer) -> None:
            ctx.upstream_ns += answer.upstream_ns
            relay = answer.relay
            failure = answer.failure
            if answer.deployment is not None and relay is not None:
                usage = relay.usage
                if usage is None and relay.events and isinstance(failure, asyncio.CancelledError):
                    usage = counted_output(relay.events)
                self._served(ctx, answer.deployment, usage)
                health = self.router.health_of(answer.deployment)
                health.end(_tokens(usage))
                if isinstance(failure, UpstreamError):  # cut, stalled or garbled after it began
                    health.failed(monotonic())
            if isinstance(failure, asyncio.CancelledError):
                ctx.cancelled = True
            elif isinstance(failure, GatewayError):
                ctx.fail(failure)
            elif failure is not None:
                ctx.fail(GatewayError("internal error while relaying the stream"))
            elif relay is not None and relay.failed is not None:  # an in-band error relayed as sent
                ctx.fail(relay.failed)

        return ended


def counted_output(events: int) -> Usage:
    """The usage of a stream the client cut before the provider's usage arrived: one output token
    per event relayed (every content event carries at least one), so what was generated is charged
    rather than nothing. Estimated (``reported`` False); the prompt is not counted."""
    return Usage(completion_tokens=events)


def _tokens(usage: Usage | None) -> int:
    return usage.prompt_tokens + usage.completion_tokens if usage is not None else 0


def _ignore(answer: StreamAnswer) -> None:
    return None


def _whole(made: EarlyAnswer) -> ChatResponse:
    if made.response is not None:
        return made.response
    return response_of(made.events or ())
