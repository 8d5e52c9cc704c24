"""Personal data in prompts and answers: the structured tier (validated patterns, no model)."""

from switchgear.guardrails.pii.detect import LABELS, STRUCTURED, TYPES, Detector, Masker

__all__ = ["LABELS", "STRUCTURED", "TYPES", "Detector", "Masker"]
