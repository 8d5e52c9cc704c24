"""The texts of a request that guardrails read and may rewrite: each message's text parts (the
decoded request), or the ``prompt`` / ``input`` strings of the OpenAI-only APIs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from switchgear.core.types import ChatRequest, ChatResponse, Message, TextPart
from switchgear.stages.context import RequestContext


@dataclass(slots=True)
class Piece:
    """One text: who wrote it ("system", "user", "assistant", "tool") and how to replace it."""

    role: str
    text: str
    put: Callable[[str], None]


def _part_setter(message: Message, index: int, part: TextPart) -> Callable[[str], None]:
    def put(text: str) -> None:
        message.content[index] = replace(part, text=text)

    return put


def request_pieces(ctx: RequestContext) -> list[Piece]:
    canonical = ctx.canonical
    if canonical is not None:
        return chat_pieces(canonical)
    request = ctx.request
    if request is None:
        return []
    return body_pieces(request.body, ctx)


def chat_pieces(request: ChatRequest) -> list[Piece]:
    pieces: list[Piece] = []
    for message in request.messages:
        for index, part in enumerate(message.content):
            if isinstance(part, TextPart) and part.text:
                pieces.append(Piece(message.role, part.text, _part_setter(message, index, part)))
    return pieces


def body_pieces(body: dict[str, Any], ctx: RequestContext) -> list[Piece]:
    """``prompt`` (completions) or ``input`` (embeddings): strings or lists of strings."""
    pieces: list[Piece] = []
    for field in ("prompt", "input"):
        value = body.get(field)
        if isinstance(value, str):
            pieces.append(Piece("user", value, _body_setter(body, field, None, ctx)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    pieces.append(Piece("user", item, _body_setter(body, field, i, ctx)))
    return pieces


def _body_setter(
    body: dict[str, Any], field: str, index: int | None, ctx: RequestContext
) -> Callable[[str], None]:
    def put(text: str) -> None:
        if index is None:
            body[field] = text
        else:
            body[field][index] = text
        if ctx.request is not None:
            ctx.request.raw = None  # the bytes as sent are no longer the body

    return put


def answer_pieces(response: ChatResponse) -> list[Piece]:
    pieces: list[Piece] = []
    for choice in response.choices:
        message = choice.message
        for index, part in enumerate(message.content):
            if isinstance(part, TextPart) and part.text:
                pieces.append(Piece("assistant", part.text, _part_setter(message, index, part)))
    return pieces
