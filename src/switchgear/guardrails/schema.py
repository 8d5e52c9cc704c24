"""Structured output checked against a JSON schema (``kind: json_schema``, answers only).

Each choice's text must be one JSON document (a fenced ```json block is accepted) valid against
the policy's schema (JSON Schema 2020-12, checked at start-up; no remote ``$ref`` is ever
fetched). A whole answer is checked as it is; a streamed answer is held back until its choice ends
(bounded at 1 MB) so that nothing invalid reaches the client in ``deny`` mode.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from switchgear.config.guardrails import GuardrailSettings
from switchgear.guardrails.checks import Finding, Guard, GuardState, TextCheck
from switchgear.guardrails.texts import Piece

_MAX_HELD = 1_000_000


class JsonSchemaGuard(Guard):
    kind = "json_schema"

    def __init__(self, settings: GuardrailSettings) -> None:
        super().__init__(settings)
        self.input = False
        self.output = True
        try:
            Draft202012Validator.check_schema(settings.json_schema or {})
        except SchemaError as exc:
            raise ValueError(
                f"guardrail {self.name!r}: json_schema is not a valid schema: {exc.message}"
            ) from None
        self.validator = Draft202012Validator(settings.json_schema or {})

    def verdict(self, text: str) -> str | None:
        """None when ``text`` is a valid document, else the finding's type."""
        body = text.strip()
        if body.startswith("```"):
            body = body.split("\n", 1)[1] if "\n" in body else ""
            body = body.rsplit("```", 1)[0]
        try:
            document = json.loads(body)
        except ValueError:
            return "NOT_JSON"
        return None if self.validator.is_valid(document) else "SCHEMA_INVALID"

    async def check_output(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        found: dict[str, int] = {}
        for piece in pieces:
            kind = self.verdict(piece.text)
            if kind is not None:
                found[kind] = found.get(kind, 0) + 1
        return Finding(found)

    def stream(self, state: GuardState) -> TextCheck | None:
        return SchemaStream(self)


class SchemaStream(TextCheck):
    """Holds each choice's whole text and checks it when the choice ends."""

    def __init__(self, guard: JsonSchemaGuard) -> None:
        super().__init__()
        self.guard = guard
        self.held: dict[int, list[str]] = {}
        self.sizes: dict[int, int] = {}

    def feed(self, index: int, text: str) -> str:
        size = self.sizes.get(index, 0) + len(text)
        self.sizes[index] = size
        if size > _MAX_HELD:
            self.found["TOO_LONG"] = 1
            return "".join(self.held.pop(index, [])) + text
        self.held.setdefault(index, []).append(text)
        return ""

    def indexes(self) -> list[int]:
        return list(self.held)

    def finish(self, index: int) -> str:
        text = "".join(self.held.pop(index, []))
        if not text and index not in self.sizes:
            return ""
        kind = self.guard.verdict(text)
        if kind is not None:
            self.found[kind] = self.found.get(kind, 0) + 1
        return text
