"""What the semantic cache compares, read from the client's request body: the text of the last
user turn (embedded and matched), and the partition everything else belongs to.

The partition is the exact cache's key of the body with that last turn's text left out: tenant,
namespace, API, model, system prompt, earlier turns, tools and every parameter that changes the
answer. Two requests can only share an answer when all of that is equal and their last questions
are close in meaning. A last turn that is not plain text (images, tool results) is not looked up.
"""

from __future__ import annotations

from typing import Any

from switchgear.cache.key import cache_key

_HOLE = "\0semantic\0"  # what the compared text is replaced with in the partition's key


def _plain_text(content: Any) -> str | None:
    """The text of a message content made only of text (string or text parts), else None."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        texts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                return None
            text = part.get("text")
            if not isinstance(text, str):
                return None
            texts.append(text)
        return "\n".join(texts)
    return None


def question_of(api: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The last user turn's text and the body with that text taken out, or None."""
    if api == "responses":
        given = body.get("input")
        if isinstance(given, str):
            return given, {**body, "input": _HOLE}
        if not isinstance(given, list) or not given:
            return None
        messages, field = given, "input"
    else:
        found = body.get("messages")
        if not isinstance(found, list) or not found:
            return None
        messages, field = found, "messages"
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    text = _plain_text(last.get("content"))
    if text is None or not text.strip():
        return None
    rest = {**last, "content": _HOLE}
    return text, {**body, field: [*messages[:-1], rest]}


def partition_of(api: str, rest: dict[str, Any], scope: str, namespace: str, embedder: str) -> str | None:
    """The partition key of a request (``rest``: its body without the compared text)."""
    return cache_key(api, rest, scope, f"{namespace}\0{embedder}")
