"""The content blocks of Anthropic Messages history, checked the way the real API checks them.

One message's ``content`` (a string or a list of blocks) becomes a :class:`Turn`: its role, the
words it counts for, the text the simulated model echoes, and the ``tool_use`` ids it opens or
the ``tool_result`` ids it answers. Each block type is handled explicitly — ``text`` (non-empty),
``image`` (base64 with a supported media type whose bytes match it, ``url`` or ``file``),
``document``, ``tool_use`` (id pattern, object ``input``), ``tool_result`` (string or block
content, ``is_error``), ``thinking`` (whose ``signature``, when the simulator issued it, must
still match its text) and ``redacted_thinking`` — and blocks in the wrong role, unknown types,
``tool_use``/``tool_result`` pairs that do not line up across consecutive turns, and (with
thinking on) a tool-calling assistant turn that does not open with its thinking are refused with
the API's own wording.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from switchgear.simulator import text
from switchgear.simulator.delivery import Reject

MEDIA_TOKENS = 100  # what an image or a binary document counts for
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
BLOCK_TYPES = ("text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking")
# Server-tool and other blocks accepted as they are (not checked, counted as nothing).
OPAQUE_TYPES = frozenset(
    {
        "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
        "code_execution_tool_result", "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result", "tool_search_tool_result", "container_upload",
        "search_result", "mcp_tool_use", "mcp_tool_result", "tool_reference",
    }
)  # fmt: skip
_RESULT_PART_TYPES = ("text", "image", "document", "search_result", "tool_reference")
_ONLY_IN = {"image": "user", "document": "user", "tool_result": "user"}
_ONLY_IN |= {"tool_use": "assistant", "thinking": "assistant", "redacted_thinking": "assistant"}
SIGNATURE_MAGIC = b"sgsim1"
_SNIFF = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))

Bad = Callable[[str], Reject]


def unknown_tag(where: str, kind: Any, tags: Iterable[str]) -> str:
    """The API's wording for a ``type`` that is none of a tagged union's ``tags``."""
    expected = ", ".join(f"'{tag}'" for tag in tags)
    return (
        f"{where}: Input tag {kind!r} found using 'type' does not match any of the expected tags: {expected}"
    )


@dataclass
class Turn:
    """One message (or several consecutive same-role messages, merged as the API merges them)."""

    role: str
    index: int
    first: str = "text"  # the type of the first content block
    tokens: int = 0
    text: str = ""
    tool_uses: list[str] = field(default_factory=list)
    tool_results: list[tuple[str, str]] = field(default_factory=list)  # (where, tool_use_id)

    def merge(self, other: Turn) -> Turn:
        """This turn followed by ``other`` (same role)."""
        joined = " ".join(t for t in (self.text, other.text) if t)
        return Turn(
            self.role,
            self.index,
            self.first,
            self.tokens + other.tokens,
            joined,
            self.tool_uses + other.tool_uses,
            self.tool_results + other.tool_results,
        )


def decode_base64(data: Any) -> bytes | None:
    """Standard base64 (padding optional), as the API takes it; ``None`` when it is not."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def issue_signature(thought: str) -> str:
    """The ``signature`` of a thinking block: it carries the thought and a check of it."""
    check = text.digest("anthropic-thinking", thought)[:16]
    return base64.b64encode(SIGNATURE_MAGIC + check + thought.encode()).decode()


def signature_matches(signature: str, thinking: str) -> bool:
    """False for a simulator-issued signature that was altered or no longer fits its thinking text.

    Signatures the simulator did not issue (recorded from the real API, or made up) are accepted.
    An empty ``thinking`` fits any intact signature: that is how ``display: "omitted"`` returns it.
    """
    raw = decode_base64(signature)
    if raw is None or not raw.startswith(SIGNATURE_MAGIC):
        return bool(signature)
    check, carried = raw[len(SIGNATURE_MAGIC) : len(SIGNATURE_MAGIC) + 16], raw[len(SIGNATURE_MAGIC) + 16 :]
    try:
        thought = carried.decode()
    except UnicodeDecodeError:
        return False
    return check == text.digest("anthropic-thinking", thought)[:16] and thinking in ("", thought)


def sniff_image(data: bytes) -> str | None:
    """The media type the bytes' magic number says (``None`` when not recognised)."""
    for magic, media_type in _SNIFF:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_blocks(bad: Bad, where: str, role: str, content: Any, final_assistant: bool) -> Turn:
    """Check one message's content; its :class:`Turn`."""
    turn = Turn(role, int(where.rsplit(".", 1)[1]))
    empty = (
        f"{where}: all messages must have non-empty content except for the optional final assistant message"
    )
    if isinstance(content, str):
        if not content and not final_assistant:
            raise bad(empty)
        turn.tokens, turn.text = text.count_words(content), content
        return turn
    if not isinstance(content, list):
        raise bad(f"{where}.content: Input should be a valid string or a list of content blocks")
    if not content and not final_assistant:
        raise bad(empty)
    texts: list[str] = []
    if content and isinstance(content[0], dict) and isinstance(content[0].get("type"), str):
        turn.first = content[0]["type"]
    for number, block in enumerate(content):
        block_where = f"{where}.content.{number}"
        if not isinstance(block, dict):
            raise bad(f"{block_where}: Input should be a valid dictionary")
        kind = block.get("type")
        if isinstance(kind, str) and _ONLY_IN.get(kind, role) != role:
            raise bad(f"{block_where}: `{kind}` blocks can only be in `{_ONLY_IN[kind]}` messages")
        match kind:
            case "text":
                value = _text_block(bad, block_where, block)
                turn.tokens += text.count_words(value)
                texts.append(value)
            case "image":
                _image(bad, f"{block_where}.image", block.get("source"))
                turn.tokens += MEDIA_TOKENS
            case "document":
                turn.tokens += _document(bad, f"{block_where}.document", block.get("source"))
            case "tool_use":
                turn.tokens += _tool_use(bad, f"{block_where}.tool_use", block)
                turn.tool_uses.append(block["id"])
            case "tool_result":
                tokens, result_text = _tool_result(bad, f"{block_where}.tool_result", block)
                turn.tokens += tokens
                texts.append(result_text)
                turn.tool_results.append((block_where, block["tool_use_id"]))
            case "thinking":
                for key in ("thinking", "signature"):
                    if not isinstance(block.get(key), str):
                        raise bad(f"{block_where}.thinking.{key}: Field required")
                if not signature_matches(block["signature"], block["thinking"]):
                    raise bad(f"{block_where}: Invalid `signature` in `thinking` block")
            case "redacted_thinking":
                if not isinstance(block.get("data"), str):
                    raise bad(f"{block_where}.redacted_thinking.data: Field required")
            case str() if kind in OPAQUE_TYPES:
                pass
            case _:
                raise bad(unknown_tag(block_where, kind, BLOCK_TYPES))
    turn.text = " ".join(t for t in texts if t)
    return turn


def check_pairing(bad: Bad, turns: list[Turn]) -> None:
    """Every ``tool_use`` answered in the next turn; every ``tool_result`` answering the previous one."""
    for position, turn in enumerate(turns):
        following = turns[position + 1] if position + 1 < len(turns) else None
        if turn.role == "assistant" and turn.tool_uses and following is not None:
            answered = {tool_use_id for _, tool_use_id in following.tool_results}
            missing = [t for t in turn.tool_uses if t not in answered]
            if missing:
                raise bad(
                    f"messages.{turn.index}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
        if turn.role == "user" and turn.tool_results:
            previous = turns[position - 1].tool_uses if position > 0 else []
            for where, tool_use_id in turn.tool_results:
                if tool_use_id not in previous:
                    raise bad(
                        f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_use_id}. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in the "
                        "previous message."
                    )


def _text_block(bad: Bad, where: str, block: dict[str, Any]) -> str:
    value = block.get("text")
    if not isinstance(value, str):
        raise bad(f"{where}.text.text: Field required")
    if not value:
        raise bad(f"{where}: text content blocks must be non-empty")
    return value


def _image(bad: Bad, where: str, source: Any) -> None:
    if not isinstance(source, dict):
        raise bad(f"{where}.source: Field required")
    match source.get("type"):
        case "base64":
            media_type = source.get("media_type")
            if media_type not in IMAGE_TYPES:
                allowed = ", ".join(f"'{t}'" for t in IMAGE_TYPES)
                raise bad(f"{where}.source.base64.media_type: Input should be {allowed}")
            data = decode_base64(source.get("data"))
            if data is None:
                raise bad(f"{where}.source.base64.data: invalid base64 data")
            sniffed = sniff_image(data)
            if sniffed is not None and sniffed != media_type:
                raise bad(
                    f"{where}.source.base64.data: The image was specified using the {media_type} media "
                    f"type, but the image appears to be a {sniffed} image"
                )
        case "url":
            url = source.get("url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise bad(f"{where}.source.url.url: Input should be a valid URL")
        case "file":
            if not isinstance(source.get("file_id"), str):
                raise bad(f"{where}.source.file.file_id: Field required")
        case other:
            raise bad(unknown_tag(f"{where}.source", other, ("base64", "url", "file")))


def _document(bad: Bad, where: str, source: Any) -> int:
    if not isinstance(source, dict):
        raise bad(f"{where}.source: Field required")
    match source.get("type"):
        case "base64":
            if source.get("media_type") != "application/pdf":
                raise bad(f"{where}.source.base64.media_type: Input should be 'application/pdf'")
            if decode_base64(source.get("data")) is None:
                raise bad(f"{where}.source.base64.data: invalid base64 data")
            return MEDIA_TOKENS
        case "text":
            data = source.get("data")
            if not isinstance(data, str):
                raise bad(f"{where}.source.text.data: Field required")
            return text.count_words(data)
        case "content" | "url" | "file":
            return MEDIA_TOKENS
        case other:
            raise bad(unknown_tag(f"{where}.source", other, ("base64", "text", "content", "url", "file")))


def _tool_use(bad: Bad, where: str, block: dict[str, Any]) -> int:
    tool_use_id, name, arguments = block.get("id"), block.get("name"), block.get("input")
    if not isinstance(tool_use_id, str) or not TOOL_USE_ID.match(tool_use_id):
        raise bad(f"{where}.id: String should match pattern '{TOOL_USE_ID.pattern}'")
    if not isinstance(name, str) or not name:
        raise bad(f"{where}.name: Field required")
    if not isinstance(arguments, dict):
        raise bad(f"{where}.input: Input should be a valid dictionary")
    return text.count_words(f"{name} {text.dumps(arguments).decode()}")


def _tool_result(bad: Bad, where: str, block: dict[str, Any]) -> tuple[int, str]:
    if not isinstance(block.get("tool_use_id"), str):
        raise bad(f"{where}.tool_use_id: Field required")
    if not isinstance(block.get("is_error", False), bool):
        raise bad(f"{where}.is_error: Input should be a valid boolean")
    content = block.get("content")
    if content is None:
        return 0, ""
    if isinstance(content, str):
        return text.count_words(content), content
    if not isinstance(content, list):
        raise bad(f"{where}.content: Input should be a valid string or a list of content blocks")
    tokens, texts = 0, []
    for number, part in enumerate(content):
        part_where = f"{where}.content.{number}"
        kind = part.get("type") if isinstance(part, dict) else None
        match kind:
            case "text":
                value = _text_block(bad, part_where, part)
                tokens += text.count_words(value)
                texts.append(value)
            case "image":
                _image(bad, f"{part_where}.image", part.get("source"))
                tokens += MEDIA_TOKENS
            case "document":
                tokens += _document(bad, f"{part_where}.document", part.get("source"))
            case "search_result" | "tool_reference":
                pass
            case _:
                raise bad(unknown_tag(part_where, kind, _RESULT_PART_TYPES))
    return tokens, " ".join(texts)


def check_thinking_start(bad: Bad, turns: list[Turn]) -> None:
    """With thinking on, the assistant turn answered by trailing tool results must open with thinking."""
    if len(turns) < 2:
        return
    assistant, results = turns[-2], turns[-1]
    if not (assistant.role == "assistant" and assistant.tool_uses and results.tool_results):
        return
    if assistant.first not in ("thinking", "redacted_thinking"):
        raise bad(
            f"messages.{assistant.index}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{assistant.first}`. When `thinking` is enabled, a final `assistant` message must "
            "start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
            "blocks). We recommend you include thinking blocks from previous turns. To avoid this "
            "requirement, disable `thinking`."
        )
