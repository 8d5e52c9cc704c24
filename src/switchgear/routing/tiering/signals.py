"""What a tiering policy reads from a request, taken from the parsed body (no decoding).

Works on the three chat shapes the gateway accepts: OpenAI chat (``messages``), Anthropic
Messages (``messages`` + ``system``), OpenAI Responses (``input``: a string or items) and the
legacy completions ``prompt``. Only the user's text counts; the last user message is what the
classifier scores (RouteLLM routes on the user's turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Signals:
    last_user: str  # the last user message's text
    user_chars: int  # all user messages' text, in characters
    turns: int  # user messages
    tools: bool  # the request offers tools
    json_output: bool  # it asks for JSON (response_format / text.format)


def _text(content: Any) -> str:
    """A message's text: a string, or the text of its text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str) and part.get("type") in ("text", "input_text", None):
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def _user_texts(body: dict[str, Any]) -> list[str]:
    messages = body.get("messages")
    if isinstance(messages, list):
        return [_text(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    given = body.get("input")
    if isinstance(given, str):
        return [given]
    if isinstance(given, list):
        return [
            _text(item.get("content"))
            for item in given
            if isinstance(item, dict) and item.get("role", "user") == "user" and "content" in item
        ]
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], str):
        return [p for p in prompt if isinstance(p, str)]
    return []


def _wants_json(body: dict[str, Any]) -> bool:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        return True
    text = body.get("text")  # Responses API
    if isinstance(text, dict):
        inner = text.get("format")
        if isinstance(inner, dict) and inner.get("type") in ("json_object", "json_schema"):
            return True
    output = body.get("output_format")  # Anthropic structured outputs
    return isinstance(output, dict) and output.get("type") == "json_schema"


def signals(body: dict[str, Any]) -> Signals:
    texts = _user_texts(body)
    tools = body.get("tools")
    return Signals(
        last_user=texts[-1] if texts else "",
        user_chars=sum(len(t) for t in texts),
        turns=len(texts),
        tools=isinstance(tools, list) and bool(tools),
        json_output=_wants_json(body),
    )
