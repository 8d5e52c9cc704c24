"""Settings of the guardrails (``guardrails:`` in the configuration): a list of named policies.

Each policy has a ``kind`` (what it checks), a ``mode`` (what a match does: ``deny`` refuses,
``redact`` masks and goes on, ``flag`` lets it pass with a response header and a log field), a
``direction`` (the prompt, the answer, or both) and a ``scope`` (the whole gateway when empty;
else the listed models, teams and keys, and the keys whose metadata names the policy). A
guardrail that fails (raises, times out) refuses the request unless ``on_error: allow``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from switchgear.core.units import parse_duration

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Kind = Literal["pii", "injection", "content", "webhook", "json_schema"]
Mode = Literal["deny", "redact", "flag"]
Direction = Literal["input", "output", "both"]

# each kind's default mode and direction, and the modes it can take
DEFAULTS: dict[str, tuple[str, str, frozenset[str]]] = {
    "pii": ("redact", "both", frozenset({"deny", "redact", "flag"})),
    "injection": ("flag", "input", frozenset({"deny", "flag"})),
    "content": ("deny", "both", frozenset({"deny", "flag"})),
    "webhook": ("deny", "input", frozenset({"deny", "flag"})),
    "json_schema": ("deny", "output", frozenset({"deny", "flag"})),  # answers only
}
# the keys each kind takes besides the common ones
_OWN: dict[str, frozenset[str]] = {
    "pii": frozenset({"entities", "restore", "window"}),
    "injection": frozenset({"threshold", "document_threshold", "classifier"}),
    "content": frozenset({"deny_words", "patterns", "topics", "allowed_topics", "max_prompt_chars"}),
    "webhook": frozenset({"url", "timeout", "allow_hosts", "allow_private"}),
    "json_schema": frozenset({"json_schema", "retry"}),
}
_COMMON = frozenset({"name", "kind", "mode", "direction", "scope", "on_error"})


def _seconds(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class GuardrailScope(_Model):
    """Where a policy applies: everywhere when every list is empty and ``opt_in`` is off; else
    to requests for the listed models, from the listed teams or keys, and (always) from keys whose
    metadata lists the policy's name under ``guardrails``."""

    models: list[str] = []
    teams: list[str] = []
    keys: list[str] = []
    opt_in: bool = False  # only where a list or a key's metadata names it


class ClassifierSettings(_Model):
    """An operator's ONNX text classifier for prompt injection (the guardrails-onnx extra)."""

    model: str  # path of the .onnx file
    tokenizer: str  # path of its tokenizer.json
    threshold: float = Field(default=0.5, ge=0, le=1)  # probability at or above: a finding
    label: int = Field(default=1, ge=0)  # index of the injection class in the model's output
    max_tokens: int = Field(default=512, ge=8, le=8192)


class GuardrailSettings(_Model):
    name: Annotated[str, Field(pattern=_NAME)]
    kind: Kind
    mode: Mode | None = None  # None: the kind's default (pii: redact; injection: flag; else deny)
    direction: Direction | None = None  # None: the kind's default (pii, content: both)
    scope: GuardrailScope = GuardrailScope()
    on_error: Literal["block", "allow"] = "block"  # when the check itself fails: fail closed
    # pii
    entities: list[str] = []  # the types to look for (empty: every type)
    restore: bool = False  # reversible masking: the answer gets the values back, same request only
    window: int = Field(default=32, ge=8, le=4096)  # characters a stream holds back
    # injection
    threshold: float | None = Field(default=None, ge=0, le=1)  # deny at or above (None: built-in)
    document_threshold: float | None = Field(default=None, ge=0, le=1)  # tool results, documents
    classifier: ClassifierSettings | None = None  # also ask an ONNX classifier (user messages, tools)
    # content
    deny_words: list[str] = []  # words or phrases (case-insensitive, whole words)
    patterns: list[str] = []  # regular expressions
    topics: dict[str, list[str]] = {}  # topic -> keywords: a prompt or answer on one matches
    allowed_topics: dict[str, list[str]] = {}  # when set, a prompt must be on one of them
    max_prompt_chars: int | None = Field(default=None, ge=1)
    # webhook
    url: str | None = None
    timeout: Annotated[float, BeforeValidator(_seconds)] = Field(default=2.0, gt=0, le=60)
    allow_hosts: list[str] = []  # host names (or IP literals) the url may point to
    allow_private: bool = False  # let the url resolve to private, loopback or link-local addresses
    # json_schema
    json_schema: dict[str, Any] | None = None  # answers must be JSON valid against it
    # deny mode: an invalid whole answer is asked again once — of the next candidate (another
    # deployment, a fallback model), else of the same deployment — before the request is refused
    retry: bool = False

    @model_validator(mode="after")
    def _kind_keys(self) -> GuardrailSettings:
        modes = DEFAULTS[self.kind][2]
        given = self.model_fields_set - _COMMON
        foreign = given - _OWN[self.kind]
        if foreign:
            raise ValueError(
                f"guardrail {self.name!r} ({self.kind}) does not take {', '.join(sorted(foreign))}"
            )
        if self.mode is not None and self.mode not in modes:
            raise ValueError(f"guardrail {self.name!r}: a {self.kind} guardrail cannot {self.mode}")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"guardrail {self.name!r}: bad pattern {pattern!r}: {exc}") from None
        if self.kind == "webhook" and not self.url:
            raise ValueError(f"guardrail {self.name!r}: a webhook guardrail needs a url")
        if self.kind == "json_schema" and self.json_schema is None:
            raise ValueError(f"guardrail {self.name!r}: a json_schema guardrail needs json_schema")
        if self.kind == "json_schema" and self.direction not in (None, "output"):
            raise ValueError(f"guardrail {self.name!r}: a json_schema guardrail checks answers only")
        if self.kind == "content" and not (
            self.deny_words or self.patterns or self.topics or self.allowed_topics or self.max_prompt_chars
        ):
            raise ValueError(f"guardrail {self.name!r}: a content guardrail needs at least one rule")
        return self

    @property
    def action(self) -> str:
        return self.mode or DEFAULTS[self.kind][0]

    @property
    def directions(self) -> tuple[str, ...]:
        direction = self.direction or DEFAULTS[self.kind][1]
        return ("input", "output") if direction == "both" else (direction,)
