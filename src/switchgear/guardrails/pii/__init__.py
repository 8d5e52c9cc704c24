"""Personal data in prompts and answers: the structured tier (validated patterns, no model)."""

from switchgear.guardrails.pii.detect import LABELS, STRUCTURED, TYPES, Detector, Masker

__all__ = ["LABELS", "STRUCTURED", "TYPES", "Detector", "Masker", "redact_text"]

_EVERY_TYPE = Detector()


def redact_text(text: str) -> str:
    """``text`` with every PII type masked by typed placeholders: a redaction hook for the payload
    log (``observability.payloads.redact: ["switchgear.guardrails.pii:redact_text"]``)."""
    return Masker(_EVERY_TYPE).mask(text)
