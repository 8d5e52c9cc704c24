"""OpenTelemetry traces as a settle consumer: one span per request and one per upstream attempt,
made after the request has finished, from its record, with the times it actually had.

Nothing runs on the request path but keeping the client's ``traceparent`` header. The sampling
decision is the usual parent-based one: a request whose ``traceparent`` says "sampled" is traced,
one that says "not sampled" is not, and one without a (valid) ``traceparent`` is traced with the
probability ``observability.tracing.sample_ratio``. Only sampled requests reach the SDK; its
batch processor exports them over OTLP/HTTP from its own thread.

Span attributes follow the OpenTelemetry GenAI semantic conventions (``gen_ai.operation.name``,
``gen_ai.system``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``), plus ``http.response.status_code``,
``error.type`` and switchgear's own (``switchgear.request_id``, ``switchgear.cost_usd``, ...).
The request span (kind SERVER) is the child of the client's span when a ``traceparent`` came;
each attempt span (kind CLIENT) is the request span's child. Needs the ``otel`` extra.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from switchgear.config.load import ConfigError
from switchgear.config.model import TracingSettings
from switchgear.observability.trace_context import NOT_TRACED, TRACE, Propagation, TraceIds, decide
from switchgear.stages.base import Stage
from switchgear.stages.context import Attempt
from switchgear.stages.record import RequestRecord

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class PresetIds(IdGenerator):
        trace_id: int
        span_id: int

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

    from switchgear.providers.base import Provider

OTEL_MISSING = "observability.tracing.enabled: OpenTelemetry is not installed; pip install 'switchgear[otel]'"
_OPERATIONS = {"completions": "text_completion", "embeddings": "embeddings", "count_tokens": "count_tokens"}
# gen_ai.system per wire family (the convention's well-known values where there is one)
_SYSTEMS = {"bedrock": "aws.bedrock", "gemini": "gcp.gemini", "vertex": "gcp.vertex_ai"}


def tracing_problem(settings: TracingSettings) -> str | None:
    """Why tracing cannot run as configured (the SDK is not installed), or None."""
    if settings.enabled and importlib.util.find_spec("opentelemetry.sdk") is None:
        return OTEL_MISSING
    return None


class Tracing(Stage):
    name = "tracing"

    def __init__(self, settings: TracingSettings, exporter: SpanExporter | None = None) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
        except ImportError:
            raise ConfigError(OTEL_MISSING) from None
        self.ratio = settings.sample_ratio
        if exporter is None:
            exporter = OTLPSpanExporter(
                endpoint=settings.endpoint,
                headers={k: v.get_secret_value() for k, v in settings.headers.items()},
                timeout=settings.timeout,
            )
        # The sampling decision is taken before (``trace_context.decide``); the SDK keeps every span
        # it is given, with the ids the request path chose (its upstreams were sent them).
        self.ids = _preset_ids()
        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name}),
            sampler=ParentBased(ALWAYS_ON),
            id_generator=self.ids,
        )
        self.propagation = Propagation(settings.sample_ratio)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer: Tracer = self.provider.get_tracer("switchgear")
        self.sampled = 0

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        ratio = self.ratio
        for record in records:
            ids = TRACE.get(record)  # decided on the request path when it reached an upstream
            if ids is None:
                ids = decide(record.traceparent, ratio)
            if ids is not NOT_TRACED:
                self.emit(record, ids)

    def emit(self, r: RequestRecord, ids: TraceIds) -> None:
        """The request's span and its attempts' spans, with the ids the request path gave them."""
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self.sampled += 1
        start = int(r.started_at * 1e9)
        operation = _OPERATIONS.get(r.api, "chat")
        preset = self.ids
        # a root span takes a new trace id from the generator; a child of the client's span, its trace's
        preset.trace_id = 0 if ids.parent_id else ids.trace_id
        preset.span_id = ids.span_id
        span = self.tracer.start_span(
            f"{operation} {r.model}".strip(),
            context=_remote(ids.trace_id, ids.parent_id) if ids.parent_id else None,
            kind=SpanKind.SERVER,
            attributes=_request_attributes(r, operation),
            start_time=start,
        )
        if r.error_type is not None:
            span.set_status(Status(StatusCode.ERROR, r.error or None))
        inside = trace.set_span_in_context(span)
        for i, attempt in enumerate(r.attempts):
            began = start + int(attempt.offset_ms * 1e6)
            preset.span_id = ids.attempts.get(i, 0)
            child = self.tracer.start_span(
                f"{operation} {attempt.deployment.model}",
                context=inside,
                kind=SpanKind.CLIENT,
                attributes=_attempt_attributes(attempt, operation),
                start_time=began,
            )
            if attempt.error is not None:
                child.set_status(Status(StatusCode.ERROR, attempt.error.message))
            child.end(end_time=began + int(attempt.latency_ms * 1e6))
        span.end(end_time=start + int(r.duration_ms * 1e6))

    async def close(self) -> None:
        """Export what is still waiting (the SDK's thread does the I/O), then stop."""
        await asyncio.to_thread(self.provider.shutdown)


def _remote(trace_id: int, parent_id: int) -> Context:
    """The client's span, as the parent of the request span (its sampled flag: it was traced)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    context = SpanContext(trace_id, parent_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(context))


def _preset_ids() -> PresetIds:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class Preset(RandomIdGenerator):
        """Hands out the ids set just before a span is started (each used once), else random ones."""

        trace_id = 0
        span_id = 0

        def generate_trace_id(self) -> int:
            trace_id, self.trace_id = self.trace_id, 0
            return trace_id or super().generate_trace_id()

        def generate_span_id(self) -> int:
            span_id, self.span_id = self.span_id, 0
            return span_id or super().generate_span_id()

    return cast("PresetIds", Preset())


def _system(provider: Provider) -> str:
    """``gen_ai.system``: the vendor profile's name (openai, groq, anthropic, ...), with the
    convention's spelling for the cloud ones."""
    name = provider.profile.name
    return _SYSTEMS.get(name, name)


def _request_attributes(r: RequestRecord, operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": r.model,
        "http.response.status_code": r.status,
        "switchgear.request_id": r.request_id,
        "switchgear.api": r.api,
        "switchgear.stream": r.stream,
        "switchgear.attempts": len(r.attempts),
    }
    served = r.attempts[-1].deployment if r.attempts and r.provider is not None else None
    if served is not None:
        attributes["gen_ai.system"] = _system(served.provider)
        attributes["switchgear.provider"] = served.provider.name
    if r.served_model is not None:
        attributes["gen_ai.response.model"] = r.served_model
    usage = r.usage
    if usage is not None:
        attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
    if r.cost_nanousd is not None:
        attributes["switchgear.cost_usd"] = r.cost_nanousd / 1e9
    if r.error_type is not None:
        attributes["error.type"] = r.error_type
    if r.ttfb_ms is not None and r.stream:
        attributes["switchgear.time_to_first_token_ms"] = round(r.ttfb_ms, 3)
    if r.cache is not None:
        attributes["switchgear.cache"] = r.cache
    if r.principal.key_id is not None:
        attributes["switchgear.key_id"] = r.principal.key_id
    if r.principal.team_id is not None:
        attributes["switchgear.team_id"] = r.principal.team_id
    return attributes


def _attempt_attributes(a: Attempt, operation: str) -> dict[str, Any]:
    d = a.deployment
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.system": _system(d.provider),
        "gen_ai.request.model": d.model,
        "switchgear.provider": d.provider.name,
        "switchgear.deployment": d.label,
    }
    if a.status is not None:
        attributes["http.response.status_code"] = a.status
    if a.ttfb_ms is not None:
        attributes["switchgear.upstream_ttfb_ms"] = round(a.ttfb_ms, 3)
    if a.error_type is not None:
        attributes["error.type"] = a.error_type
    return attributes
