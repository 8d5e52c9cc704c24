"""The guardrail stages: the policies that apply to a request checked on its prompt at the admit
point (``InputGuardrails``) and on its answer, whole or streamed (``OutputGuardrails``).

Which policies apply is decided by the configuration and the key's metadata only: nothing in the
request (body, metadata, headers) can turn one off; an attempt is logged (without the request's
text) and ignored. Each policy that ran leaves a ``GuardResult`` on the request (types and counts,
never values); a flag adds the response header ``x-switchgear-guardrails-flagged``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from switchgear.config.guardrails import GuardrailSettings
from switchgear.config.load import ConfigError
from switchgear.core.errors import GatewayError
from switchgear.core.types import ChatResponse, StreamEvent, TextDelta
from switchgear.guardrails.checks import (
    ContentGuard,
    Finding,
    Guard,
    GuardState,
    InjectionGuard,
    PiiGuard,
    TextCheck,
)
from switchgear.guardrails.errors import asked_again, denied, failed
from switchgear.guardrails.schema import JsonSchemaGuard
from switchgear.guardrails.texts import answer_pieces, request_pieces
from switchgear.guardrails.webhook import WebhookGuard
from switchgear.stages.base import Slot, Stage, StreamTransform
from switchgear.stages.context import GuardResult, RequestContext

log = logging.getLogger("switchgear.guardrails")
FLAG_HEADER = "x-switchgear-guardrails-flagged"
_KINDS: dict[str, type[Guard]] = {
    "pii": PiiGuard,
    "injection": InjectionGuard,
    "content": ContentGuard,
    "webhook": WebhookGuard,
    "json_schema": JsonSchemaGuard,
}
# request fields and headers a client might use to switch guardrails off (all ignored)
_CONTROL_FIELDS = ("guardrails", "disable_guardrails", "guardrail", "no_guardrails")


class Policies:
    """The configured guards and, per (model, team, key, attached names), the ones that apply."""

    def __init__(self, settings: Sequence[GuardrailSettings]) -> None:
        names = [s.name for s in settings]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"guardrails: names must be unique ({', '.join(duplicates)})")
        try:
            self.guards = [_KINDS[s.kind](s) for s in settings if s.kind in _KINDS]
        except ValueError as exc:
            raise ConfigError(f"guardrails: {exc}") from None
        self._cache: dict[tuple[str, str | None, str | None, tuple[str, ...]], tuple[Guard, ...]] = {}

    def applying(self, ctx: RequestContext) -> tuple[Guard, ...]:
        p = ctx.principal
        key = (ctx.model, p.team_id, p.key_id, p.guardrails)
        found = self._cache.get(key)
        if found is None:
            found = tuple(g for g in self.guards if _applies(g.settings, ctx))
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = found
        return found


def _applies(settings: GuardrailSettings, ctx: RequestContext) -> bool:
    scope, p = settings.scope, ctx.principal
    if settings.name in p.guardrails:
        return True
    if ctx.model in scope.models or (p.team_id is not None and p.team_id in scope.teams):
        return True
    if p.key_id is not None and p.key_id in scope.keys:
        return True
    return not (scope.opt_in or scope.models or scope.teams or scope.keys)


STATES: Slot[dict[str, GuardState]] = Slot("guardrails.state")


def _state(ctx: RequestContext, guard: Guard) -> GuardState:
    states = STATES.get(ctx)
    if states is None:
        states = {}
        STATES.set(ctx, states)
    state = states.get(guard.name)
    if state is None:
        state = states[guard.name] = GuardState()
    return state


def _record(ctx: RequestContext, result: GuardResult) -> None:
    if ctx.guards is None:
        ctx.guards = []
    ctx.guards.append(result)


def _settle_finding(ctx: RequestContext, guard: Guard, direction: str, finding: Finding, began: float) -> str:
    """Record what a guard found and return the action taken; raise when it denies."""
    ms = (time.perf_counter() - began) * 1000
    action = "pass" if not finding.hit else guard.mode
    _record(ctx, GuardResult(guard.name, action, direction, dict(finding.found), round(ms, 3), finding.score))
    if action == "deny":
        raise denied(guard.name, direction, finding.found)
    return action


def _errored(ctx: RequestContext, guard: Guard, direction: str, exc: BaseException, began: float) -> None:
    ms = (time.perf_counter() - began) * 1000
    _record(ctx, GuardResult(guard.name, "error", direction, {}, round(ms, 3)))
    reason = "timed out" if isinstance(exc, asyncio.TimeoutError | TimeoutError) else type(exc).__name__
    log.warning("guardrail %s failed on request %s: %s", guard.name, ctx.request_id, reason)
    if guard.fail_closed:
        raise failed(guard.name, reason) from None


def _audit_controls(ctx: RequestContext) -> None:
    """Log (never obey) a request that tries to change its guardrails."""
    request = ctx.request
    if request is None:
        return
    body = request.body
    metadata = body.get("metadata")
    tried = [f for f in _CONTROL_FIELDS if f in body]
    if isinstance(metadata, dict):
        tried += [f"metadata.{f}" for f in _CONTROL_FIELDS if f in metadata]
    if ctx.metadata:
        tried += [f"metadata.{f}" for f in _CONTROL_FIELDS if f in ctx.metadata]
    canonical = ctx.canonical
    if canonical is not None:
        tried += [f"header {h}" for h in canonical.headers if "guardrail" in h.lower()]
    if tried:
        log.warning(
            "request %s (key %s) tried to change guardrails through %s: ignored",
            ctx.request_id,
            ctx.principal.key_id or "-",
            ", ".join(sorted(set(tried))),
        )


class InputGuardrails(Stage):
    name = "guardrails.input"
    reads_request = True

    def __init__(self, policies: Policies) -> None:
        self.policies = policies

    async def admit(self, ctx: RequestContext) -> None:
        guards = [g for g in self.policies.applying(ctx) if g.input]
        _audit_controls(ctx)
        if not guards:
            return
        pieces = request_pieces(ctx)
        flagged: list[str] = []
        changed = False
        for guard in guards:
            began = time.perf_counter()
            try:
                finding = await guard.check_input(pieces, _state(ctx, guard))
            except GatewayError:
                raise
            except Exception as exc:  # the check itself failed: closed unless the policy allows
                _errored(ctx, guard, "input", exc, began)
                continue
            action = _settle_finding(ctx, guard, "input", finding, began)
            if action == "flag":
                flagged.append(guard.name)
            elif action == "redact":
                changed = True
                pieces = request_pieces(ctx)  # the rewritten texts, for the guards after this one
        if changed and ctx.canonical is not None:
            ctx.replace_request(ctx.canonical)
        if flagged:
            ctx.add_header(FLAG_HEADER, ",".join(flagged))

    async def close(self) -> None:
        for guard in self.policies.guards:
            if isinstance(guard, WebhookGuard):
                await guard.close()


class OutputGuardrails(Stage):
    name = "guardrails.output"
    reads_answer = True

    def __init__(self, policies: Policies) -> None:
        self.policies = policies

    async def close(self) -> None:
        for guard in self.policies.guards:
            if isinstance(guard, WebhookGuard):
                await guard.close()

    def _guards(self, ctx: RequestContext) -> list[Guard]:
        return [g for g in self.policies.applying(ctx) if g.needs_output]

    async def answer_transform(self, ctx: RequestContext, response: ChatResponse) -> ChatResponse:
        guards = self._guards(ctx)
        flagged: list[str] = []
        for guard in guards:
            began = time.perf_counter()
            try:
                finding = await guard.check_output(answer_pieces(response), _state(ctx, guard))
            except GatewayError:
                raise
            except Exception as exc:
                _errored(ctx, guard, "output", exc, began)
                continue
            if finding.hit and guard.mode == "deny" and guard.settings.retry:
                state = _state(ctx, guard)
                if not state.asked_again:
                    state.asked_again = True
                    ms = round((time.perf_counter() - began) * 1000, 3)
                    _record(ctx, GuardResult(guard.name, "retry", "output", dict(finding.found), ms))
                    raise asked_again(guard.name, finding.found)
            if _settle_finding(ctx, guard, "output", finding, began) == "flag":
                flagged.append(guard.name)
        if flagged:
            ctx.add_header(FLAG_HEADER, ",".join(flagged))
        return response

    def stream_transform(self, ctx: RequestContext) -> StreamTransform | None:
        checks = [(g, c) for g in self._guards(ctx) if (c := g.stream(_state(ctx, g))) is not None]
        return GuardedStream(ctx, checks) if checks else None


class GuardedStream:
    """Each choice's text through every check in turn; other events pass in order, after the text
    held back for their choice (a choice's end flushes it)."""

    def __init__(self, ctx: RequestContext, checks: list[tuple[Guard, TextCheck]]) -> None:
        self.ctx = ctx
        self.checks = checks
        self.spent = 0.0
        self.settled = False

    def _through(self, index: int, text: str, final: bool) -> str:
        started = time.perf_counter()
        try:
            for guard, check in self.checks:
                before = len(check.found)
                text = check.feed(index, text) if text else ""
                if final:
                    text += check.finish(index)
                if guard.mode == "deny" and check.found and before == 0:
                    self._settle()
                    raise denied(guard.name, "output", check.found)
        finally:
            self.spent += time.perf_counter() - started
        return text

    def feed(self, events: list[StreamEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for event in events:
            if isinstance(event, TextDelta):
                text = self._through(event.index, event.text, final=False)
                if text:
                    out.append(TextDelta(event.index, text))
                continue
            index = getattr(event, "index", None)
            if isinstance(index, int):
                rest = self._through(index, "", final=True)
                if rest:
                    out.append(TextDelta(index, rest))
            out.append(event)
        return out

    def finish(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        indexes = sorted({i for _, c in self.checks for i in c.indexes()})
        for index in indexes:
            rest = self._through(index, "", final=True)
            if rest:
                out.append(TextDelta(index, rest))
        self._settle()
        return out

    def _settle(self) -> None:
        if self.settled:
            return
        self.settled = True
        ms = round(self.spent * 1000, 3)
        for guard, check in self.checks:
            action = guard.mode if check.found else "pass"
            _record(self.ctx, GuardResult(guard.name, action, "output", dict(check.found), ms))


def build(settings: Sequence[GuardrailSettings]) -> list[Stage]:
    """The guardrail stages for this configuration (none when no guardrail is configured)."""
    if not settings:
        return []
    policies = Policies(settings)
    stages: list[Stage] = []
    if any(g.input for g in policies.guards):
        stages.append(InputGuardrails(policies))
    if any(g.needs_output for g in policies.guards):
        stages.append(OutputGuardrails(policies))
    return stages
