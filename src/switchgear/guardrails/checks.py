"""The guardrail kinds: each inspects texts and returns what it found (types and counts, never the
values); the stage turns that into flag, redact or deny according to the policy's mode.

A ``Guard`` checks the prompt (``check_input``, may rewrite pieces when it redacts), a whole answer
(``check_output``) and a stream (``stream`` returns a per-request ``TextCheck`` fed each choice's
text, or None when the guard has nothing to do on streams).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from switchgear.config.guardrails import GuardrailSettings
from switchgear.guardrails.classifier import ClassifierUnavailable, OnnxClassifier
from switchgear.guardrails.injection import Scorer
from switchgear.guardrails.pii.detect import Detector, Masker
from switchgear.guardrails.pii.stream import HeldText
from switchgear.guardrails.texts import Piece


class Guard:
    """One configured guardrail."""

    kind = "guard"

    def __init__(self, settings: GuardrailSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.mode = settings.action
        self.input = "input" in settings.directions
        self.output = "output" in settings.directions
        self.fail_closed = settings.on_error == "block"

    async def check_input(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        return Finding()

    async def check_output(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        return Finding()

    def stream(self, state: GuardState) -> TextCheck | None:
        return None

    @property
    def needs_output(self) -> bool:
        return self.output


class Finding:
    """What a check found: counts per type, and a score when the check has one."""

    __slots__ = ("found", "score")

    def __init__(self, found: dict[str, int] | None = None, score: float | None = None) -> None:
        self.found = found or {}
        self.score = score

    @property
    def hit(self) -> bool:
        return bool(self.found)


class GuardState:
    """A guard's per-request state (the PII masker, so that placeholders restore in the answer)."""

    __slots__ = ("asked_again", "masker")

    def __init__(self) -> None:
        self.masker: Masker | None = None
        self.asked_again = False  # json_schema ``retry``: the request already asked for another answer


class TextCheck:
    """Sees one stream's text per choice; returns what may go on now. ``found`` accumulates."""

    def __init__(self) -> None:
        self.found: dict[str, int] = {}

    def feed(self, index: int, text: str) -> str:
        return text

    def finish(self, index: int) -> str:
        return ""

    def indexes(self) -> list[int]:
        """The choices with text still held back."""
        return []


def _add(into: dict[str, int], found: dict[str, int]) -> None:
    for kind, n in found.items():
        into[kind] = into.get(kind, 0) + n


# --- PII ------------------------------------------------------------------------------------------
class PiiGuard(Guard):
    kind = "pii"

    def __init__(self, settings: GuardrailSettings) -> None:
        super().__init__(settings)
        self.detector = Detector(settings.entities) if settings.entities else Detector()
        self.restore = settings.restore and self.mode == "redact"
        self.window = settings.window

    @property
    def needs_output(self) -> bool:
        return self.output or self.restore

    def _masker(self, state: GuardState) -> Masker:
        if state.masker is None:
            state.masker = Masker(self.detector)
        return state.masker

    async def check_input(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        masker = self._masker(state)
        found: dict[str, int] = {}
        for piece in pieces:
            spans = self.detector.find(piece.text)
            if not spans:
                continue
            for _, _, kind in spans:
                found[kind] = found.get(kind, 0) + 1
            if self.mode == "redact":
                piece.put(masker.rewrite(piece.text, spans))
        return Finding(found)

    async def check_output(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        masker = self._masker(state)
        found: dict[str, int] = {}
        for piece in pieces:
            spans = masker.spans(piece.text, self.restore)
            if not self.output:  # restoring only: the answer's own values are not this guard's
                spans = [s for s in spans if s[2] == "RESTORE"]
            if not spans:
                continue
            for _, _, kind in spans:
                if kind != "RESTORE":
                    found[kind] = found.get(kind, 0) + 1
            if self.mode == "redact":
                piece.put(masker.rewrite(piece.text, spans))
        return Finding(found)

    def stream(self, state: GuardState) -> TextCheck | None:
        return PiiStream(self, self._masker(state))


class PiiStream(TextCheck):
    """Holds back ``window`` characters per choice (deny and redact); flag only counts."""

    def __init__(self, guard: PiiGuard, masker: Masker) -> None:
        super().__init__()
        self.guard = guard
        self.masker = masker if guard.output else _RestoreOnly(masker)
        self.held: dict[int, HeldText] = {}

    def _held(self, index: int) -> HeldText:
        held = self.held.get(index)
        if held is None:
            held = self.held[index] = HeldText(self.masker, self.guard.window, self.guard.restore)
        return held

    def _out(self, before: dict[str, int], text: str, original: str) -> str:
        after = self.masker.found
        for kind, n in after.items():
            extra = n - before.get(kind, 0)
            if extra:
                self.found[kind] = self.found.get(kind, 0) + extra
        return text if self.guard.mode == "redact" else original

    def feed(self, index: int, text: str) -> str:
        held = self._held(index)
        if self.guard.mode == "redact":
            before = dict(self.masker.found)
            return self._out(before, held.feed(text), text)
        # deny / flag: detect on the held text; the original goes on (held back the same way)
        before = dict(self.masker.found)
        pending = held.pending
        released = held.feed(text)
        raw = (pending + text)[: len(pending + text) - len(held.pending)]
        self._out(before, released, raw)
        return raw

    def indexes(self) -> list[int]:
        return list(self.held)

    def finish(self, index: int) -> str:
        held = self.held.pop(index, None)
        if held is None:
            return ""
        before = dict(self.masker.found)
        raw = held.pending
        out = held.finish()
        return self._out(before, out, raw)


class _RestoreOnly(Masker):
    """A masker that only puts placeholders back (an input-only policy with ``restore``)."""

    def __init__(self, inner: Masker) -> None:
        super().__init__(inner.detector)
        self.values = inner.values

    def spans(self, text: str, restore: bool = False) -> list[tuple[int, int, str]]:
        return [s for s in super().spans(text, restore) if s[2] == "RESTORE"]


# --- prompt injection -----------------------------------------------------------------------------
class InjectionGuard(Guard):
    """Scores user messages (direct) and tool results (indirect) separately; a score at or above
    the threshold is a finding (``PROMPT_INJECTION`` or ``INDIRECT_INJECTION``)."""

    kind = "injection"
    _scorer: Scorer | None = None

    def __init__(self, settings: GuardrailSettings) -> None:
        super().__init__(settings)
        if InjectionGuard._scorer is None:
            InjectionGuard._scorer = Scorer.bundled()
        self.scorer = InjectionGuard._scorer
        self.threshold = (
            settings.threshold if settings.threshold is not None else self.scorer.direct.threshold
        )
        document = settings.document_threshold
        self.document_threshold = document if document is not None else self.scorer.document.threshold
        self.output = False
        self.classifier: OnnxClassifier | None = None
        self.classifier_threshold = 1.0
        if settings.classifier is not None:
            model = settings.classifier
            try:
                self.classifier = OnnxClassifier(
                    model.model, model.tokenizer, label=model.label, max_tokens=model.max_tokens
                )
            except ClassifierUnavailable as exc:
                raise ValueError(f"guardrail {self.name!r}: {exc}") from None
            self.classifier_threshold = model.threshold

    async def check_input(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        found: dict[str, int] = {}
        best = 0.0
        for piece in pieces:
            if piece.role == "user":
                score, limit, kind = self.scorer.score(piece.text), self.threshold, "PROMPT_INJECTION"
            elif piece.role == "tool":
                score = self.scorer.score(piece.text, document=True)
                limit, kind = self.document_threshold, "INDIRECT_INJECTION"
            else:
                continue
            hit = score >= limit
            if self.classifier is not None and not hit:
                probability = await asyncio.to_thread(self.classifier.probability, piece.text)
                hit = probability >= self.classifier_threshold
                score = max(score, probability)
            best = max(best, score)
            if hit:
                found[kind] = found.get(kind, 0) + 1
        return Finding(found, round(best, 4))


# --- content rules --------------------------------------------------------------------------------
def _words(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)


class ContentGuard(Guard):
    """Deny-listed words, regular expressions and topics (keyword sets); allowed topics (a prompt
    must touch one); a maximum prompt size (characters over every message)."""

    kind = "content"

    def __init__(self, settings: GuardrailSettings) -> None:
        super().__init__(settings)
        rules: list[tuple[str, re.Pattern[str]]] = []
        words = _words(settings.deny_words)
        if words is not None:
            rules.append(("DENY_WORD", words))
        rules.extend(("PATTERN", re.compile(p)) for p in settings.patterns)
        for topic, keywords in settings.topics.items():
            pattern = _words(keywords)
            if pattern is not None:
                rules.append((f"TOPIC:{topic}", pattern))
        self.rules = rules
        self.allowed = [p for p in (_words(k) for k in settings.allowed_topics.values()) if p is not None]
        self.max_chars = settings.max_prompt_chars
        # the longest text a rule can need to see whole in a stream
        self.window = max([len(w) for w in settings.deny_words] + [64], default=64) + 64

    def scan(self, text: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for kind, pattern in self.rules:
            n = len(pattern.findall(text))
            if n:
                found[kind] = found.get(kind, 0) + n
        return found

    async def check_input(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        found: dict[str, int] = {}
        for piece in pieces:
            _add(found, self.scan(piece.text))
        if self.max_chars is not None and sum(len(p.text) for p in pieces) > self.max_chars:
            found["MAX_PROMPT_CHARS"] = 1
        if self.allowed:
            asked = [p.text for p in pieces if p.role == "user"]
            if asked and not any(rule.search(text) for rule in self.allowed for text in asked):
                found["OFF_TOPIC"] = 1
        return Finding(found)

    async def check_output(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        found: dict[str, int] = {}
        for piece in pieces:
            _add(found, self.scan(piece.text))
        return Finding(found)

    def stream(self, state: GuardState) -> TextCheck | None:
        return ContentStream(self)


class ContentStream(TextCheck):
    """Holds back a window per choice and scans it with the text before; a rule matching anywhere
    is found once (the check stops looking after its first finding per choice)."""

    def __init__(self, guard: ContentGuard) -> None:
        super().__init__()
        self.guard = guard
        self.pending: dict[int, str] = {}
        self.done: set[int] = set()

    def feed(self, index: int, text: str) -> str:
        if index in self.done:
            return text
        buf = self.pending.get(index, "") + text
        found = self.guard.scan(buf)
        if found:
            _add(self.found, found)
            self.done.add(index)
            self.pending.pop(index, None)
            return buf
        cut = max(0, len(buf) - self.guard.window)
        self.pending[index] = buf[cut:]
        return buf[:cut]

    def indexes(self) -> list[int]:
        return list(self.pending)

    def finish(self, index: int) -> str:
        return self.pending.pop(index, "")
