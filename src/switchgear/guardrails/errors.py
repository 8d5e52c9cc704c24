"""The two ways a guardrail ends a request: it refused it, or the check itself failed (closed)."""

from __future__ import annotations

from switchgear.core.errors import AnswerRejected, ClientError, GatewayError


class GuardrailDenied(ClientError):
    """A policy refused the prompt or the answer (400; the message names the guardrail and the
    types it found, never the values)."""

    code = "guardrail_violation"


class GuardrailFailed(GatewayError):
    """A guardrail could not decide (raised, timed out) and fails closed (503)."""

    status = 503
    type = "server_error"
    code = "guardrail_unavailable"
    anthropic_type = "api_error"


def denied(name: str, direction: str, found: dict[str, int]) -> GuardrailDenied:
    what = ", ".join(sorted(found)) or "a match"
    subject = "request" if direction == "input" else "answer"
    return GuardrailDenied(f"guardrail {name!r} refused the {subject}: {what}")


def failed(name: str, reason: str) -> GuardrailFailed:
    return GuardrailFailed(f"guardrail {name!r} could not check the request ({reason}); it fails closed")


def asked_again(name: str, found: dict[str, int]) -> AnswerRejected:
    """An answer refused once by a ``retry`` policy: the engine asks for another one."""
    what = ", ".join(sorted(found)) or "a match"
    return AnswerRejected(f"guardrail {name!r} refused the answer ({what}); asking for another")
