"""Masking a streamed answer: each choice's text is held back by a bounded window so that a value
split across chunks (``" pers" "im" "mon"``) is still caught whole.

The text not yet sent is searched again as each chunk arrives; everything except the last
``window`` characters goes out, masked, unless a detected value (or the word it sits in, up to
``4 * window`` characters) reaches into the held part: then the cut moves back to where it starts.
A partial placeholder (``<EMA``) is held too, when placeholders are being restored.
"""

from __future__ import annotations

import re

from switchgear.guardrails.pii.detect import Masker
from switchgear.guardrails.pii.patterns import Span

_CONTEXT = 48  # characters of already-sent text searched with the pending text
_LONGEST_HOLD = 8192
_KEY_END = re.compile(
    r"-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----"
)  # a private-key block may be held this long before its end arrives


class HeldText:
    """One choice's pending text."""

    __slots__ = ("context", "masker", "pending", "record", "released", "restore", "window")

    def __init__(self, masker: Masker, window: int, restore: bool, record: list[Span] | None = None) -> None:
        self.masker = masker
        self.window = window
        self.restore = restore
        self.pending = ""
        self.context = ""  # the end of the text already sent: a phone's "Phone:" may be there
        self.released = 0  # characters of the original text already sent on
        self.record = record  # the evaluation's list of spans masked, in offsets of the whole text

    def feed(self, text: str) -> str:
        buf = self.pending + text
        if len(buf) <= self.window:
            self.pending = buf
            return ""
        spans = self._spans(buf)
        cut = len(buf) - self.window
        for start, end, _ in spans:
            if start < cut < end:
                cut = start
        cut = self._word_start(buf, cut)
        for start, end, _ in spans:  # the word start may fall inside a value: never cut through one
            if start < cut < end:
                cut = start
        if cut <= 0:
            self.pending = buf
            return ""
        self.pending = buf[cut:]
        return self._release(buf[:cut], [(s, e, k) for s, e, k in spans if e <= cut])

    def _spans(self, buf: str) -> list[Span]:
        """Values in ``buf``, searched with the context before it (spans that began in the text
        already sent are not ours to change any more)."""
        shift = len(self.context)
        if not shift:
            return self.masker.spans(buf, self.restore)
        found = self.masker.spans(self.context + buf, self.restore)
        return [(s - shift, e - shift, k) for s, e, k in found if s >= shift]

    def _release(self, text: str, spans: list[Span]) -> str:
        self.context = (self.context + text)[-_CONTEXT:]
        if self.record is not None:
            self.record.extend((self.released + s, self.released + e, k) for s, e, k in spans)
        self.released += len(text)
        return self.masker.rewrite(text, spans)

    def _word_start(self, buf: str, cut: int) -> int:
        """Move the cut back to the start of the word it falls in (bounded), of an unfinished
        private-key block, or of a partial placeholder."""
        begin = buf.rfind("-----BEGIN", 0, cut + len("-----BEGIN"))
        if 0 <= begin < cut and _KEY_END.search(buf, begin) is None and len(buf) - begin < _LONGEST_HOLD:
            return begin
        if self.restore:
            open_ = buf.rfind("<", max(0, cut - 24), cut)
            if open_ >= 0 and ">" not in buf[open_:cut]:
                cut = open_
        if cut < len(buf) and not buf[cut].isspace():
            floor = max(0, cut - 4 * self.window)
            i = cut
            while i > floor and not buf[i - 1].isspace():
                i -= 1
            if i > floor or floor == 0:
                cut = i
        return cut

    def finish(self) -> str:
        buf, self.pending = self.pending, ""
        return self._release(buf, self._spans(buf)) if buf else ""
