"""Reading and checking Gemini ``generateContent`` requests, and Google-shaped errors, for the simulator.

This module owns what the simulated Gemini API and Vertex AI routes see on the way in: the
``models/{model}:{method}`` tail of the URL (split at the last literal ``:`` of the raw path,
then percent-decoded once — so a gateway may encode ``;`` and ``=`` of the ``;key=value``
script suffix), the credential (``x-goog-api-key`` or ``?key=`` on the
Gemini API, ``Authorization: Bearer`` on Vertex AI), and the JSON body checked the way the real
API checks it: ``contents`` roles and parts (exactly one data field per part, base64 that
decodes, ``functionCall`` only from the model, function responses right after the calls, in the
same number), ``systemInstruction``, function declarations, ``toolConfig``, ``generationConfig``
ranges and ``safetySettings``. Field names are read in lowerCamelCase or snake_case, as the
real API's JSON parser accepts both. Refusals are ``{"error": {code, message, status}}``
documents; :mod:`.gemini_wire` plans and renders the answer.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import unquote

import orjson
from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import ErrorFormatter, Reject
from switchgear.simulator.script import Script, scripted

MEDIA_TOKENS = 258  # what Gemini counts for one image
DATA_FIELDS: tuple[str, ...] = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
DATA_FIELDS += ("executableCode", "codeExecutionResult", "toolCall", "toolResponse")
STRUCT = "type.googleapis.com/google.protobuf.Struct"

# HTTP status -> (google.rpc status, default message)
STATUSES: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    499: ("CANCELLED", "The operation was cancelled."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report the problem."),
    501: ("UNIMPLEMENTED", "Method not implemented."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}


def error_document(
    status: int, status_name: str | None, message: str | None, reason: str | None, retry_after: str | None
) -> dict[str, Any]:
    """A Google error document; ``reason`` becomes an ``ErrorInfo``, ``retry_after`` a ``RetryInfo``."""
    fallback = "INTERNAL" if status >= 500 else "UNKNOWN"
    default_name, default_message = STATUSES.get(status, (fallback, f"HTTP {status}"))
    error: dict[str, Any] = {
        "code": status,
        "message": message if message is not None else default_message,
        "status": status_name if status_name is not None else default_name,
    }
    details: list[dict[str, Any]] = []
    if reason is not None:
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}
        details.append(info | {"domain": "googleapis.com"})
    if retry_after is not None and retry_after.replace(".", "", 1).isdigit():
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"})
    if details:
        error["details"] = details
    return {"error": error}


def formatter(script: Script) -> ErrorFormatter:
    """The scripted-error formatter (``error_type`` is the status name, ``error_code`` the reason)."""

    def format_error(status: int, type_: str | None, message: str | None, code: str | None) -> bytes:
        return text.dumps(error_document(status, type_, message, code, script.retry_after))

    return format_error


def reject(message: str, status: int = 400) -> Reject:
    """A :class:`Reject` carrying a Google error (raise it from a handler)."""
    body = text.dumps(error_document(status, None, message, None, None))
    return Reject(web.Response(status=status, body=body, content_type="application/json"))


def get(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]`` for a lowerCamelCase ``name``, falling back to its snake_case spelling."""
    if name in obj:
        return obj[name]
    return obj.get(re.sub(r"([A-Z])", r"_\1", name).lower())


def is_int(value: object) -> TypeGuard[int]:
    """An integer that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def decode_bytes(data: Any) -> bytes | None:
    """Proto ``bytes`` in JSON: standard or URL-safe base64, padded or not; ``None`` if neither."""
    if not isinstance(data, str):
        return None
    padded = data + "=" * (-len(data) % 4)
    try:
        altchars = b"-_" if ("-" in data or "_" in data) else None
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class Target:
    """What the URL names: the model string (percent-decoded once) and the method."""

    model: str
    method: str
    vertex: bool


def read_target(request: web.Request, *, vertex: bool) -> Target:
    """Split the last path segment ``{model}:{method}`` (404 when there is no method)."""
    tail = request.raw_path.split("?", 1)[0].rsplit("/", 1)[-1]
    model, sep, method = tail.rpartition(":")
    if not sep or not model:
        raise reject(f"Method not found: {request.path}", status=404)
    return Target(model=unquote(model), method=unquote(method), vertex=vertex)


def check_auth(request: web.Request, target: Target) -> None:
    """The real APIs' answers to a request without a credential (the value is only recorded)."""
    has_key = bool(request.headers.get("x-goog-api-key") or request.query.get("key"))
    has_bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if has_key or has_bearer:
        return
    if target.vertex:
        raise reject(
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            status=401,
        )
    raise reject(
        "Method doesn't allow unregistered callers (callers without established identity). Please use "
        "API Key or other form of API consumer identity to call this API.",
        status=403,
    )


def read_model(request: web.Request, target: Target) -> tuple[str, Script, str]:
    """(bare model name, script, default ``fail_times`` key) of the request."""
    name, script, key = scripted(request.headers, target.model, lambda exc: reject(exc.message))
    return name or target.model, script, key


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body (400 ``INVALID_ARGUMENT`` otherwise)."""
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise reject(f"Invalid JSON payload received. {exc}") from None
    if not isinstance(payload, dict):
        raise reject("Invalid JSON payload received. Expected an object.")
    return payload


def lower_schema(schema: Any) -> Any:
    """An OpenAPI-style Gemini schema (``"type": "OBJECT"``) as lower-case JSON Schema."""
    if isinstance(schema, list):
        return [lower_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "type" and isinstance(value, list):
            out[key] = [v.lower() if isinstance(v, str) else v for v in value]
        elif key in ("minItems", "maxItems") and isinstance(value, str) and value.isdigit():
            out[key] = int(value)  # int64 fields travel as strings in proto JSON
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: lower_schema(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "example", "required", "propertyOrdering"):
            out[key] = value
        else:
            out[key] = lower_schema(value)
    return out


@dataclass(frozen=True)
class Contents:
    """What the checked history contributes: tokens and the text the model echoes."""

    tokens: int = 0
    user_text: str = ""


@dataclass
class _Turn:
    role: str
    calls: int = 0
    responses: int = 0
    texts: list[str] = field(default_factory=list)


def check_contents(contents: Any, where: str = "contents") -> Contents:
    """Check ``contents`` (roles, parts, function call/response turns)."""
    if not isinstance(contents, list) or not contents:
        raise reject(f"* GenerateContentRequest.{where}: contents is not specified")
    tokens = 0
    turns: list[_Turn] = []
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            raise reject(f"* GenerateContentRequest.{where}[{index}]: must be an object")
        role = content.get("role") or "user"
        if role not in ("user", "model"):
            raise reject("Please use a valid role: user, model.")
        turn = _Turn(role)
        tokens += check_parts(content.get("parts"), f"{where}[{index}]", turn)
        turns.append(turn)
    for index, turn in enumerate(turns):
        previous = turns[index - 1] if index > 0 else None
        if turn.responses and (previous is None or not previous.calls):
            raise reject(
                "Please ensure that function response turn comes immediately after a function call turn."
            )
        if turn.responses and previous is not None and turn.responses != previous.calls:
            raise reject(
                "Please ensure that the number of function response parts is equal to the number of "
                "function call parts of the function call turn."
            )
        if turn.calls and index + 1 < len(turns) and not turns[index + 1].responses:
            raise reject(
                "Please ensure that function response turn comes immediately after a function call turn."
            )
    user = next((t for t in reversed(turns) if t.role == "user"), None)
    return Contents(tokens=tokens, user_text=" ".join(user.texts) if user is not None else "")


def check_parts(parts: Any, where: str, turn: _Turn | None = None) -> int:
    """Check one content's ``parts``; the words and media they count for."""
    if not isinstance(parts, list) or not parts:
        raise reject(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.")
    tokens = 0
    for number, part in enumerate(parts):
        part_where = f"{where}.parts[{number}]"
        if not isinstance(part, dict):
            raise reject(f"* GenerateContentRequest.{part_where}: must be an object")
        present = [name for name in DATA_FIELDS if get(part, name) is not None]
        if not present:
            raise reject(
                f"* GenerateContentRequest.{part_where}.data: required oneof field 'data' must have one "
                "initialized field"
            )
        if len(present) > 1:
            raise reject(
                f"Invalid value at '{part_where}': oneof field 'data' is already set. "
                f"Cannot set '{present[1]}'"
            )
        thought = get(part, "thought")
        if thought is not None and not isinstance(thought, bool):
            raise reject(f"Invalid value at '{part_where}.thought' (TYPE_BOOL), {thought!r}")
        signature = get(part, "thoughtSignature")
        if signature is not None and decode_bytes(signature) is None:
            raise reject(
                f"Invalid value at '{part_where}.thought_signature' (TYPE_BYTES), Base64 decoding failed"
            )
        tokens += _part(part, present[0], part_where, turn, thought is True)
    return tokens


def _part(part: dict[str, Any], kind: str, where: str, turn: _Turn | None, thought: bool) -> int:
    value = get(part, kind)
    role = turn.role if turn is not None else "user"
    match kind:
        case "text":
            if not isinstance(value, str):
                raise reject(f"Invalid value at '{where}.text' (TYPE_STRING), {value!r}")
            if turn is not None and not thought:
                turn.texts.append(value)
            return text.count_words(value)
        case "inlineData":
            if not isinstance(value, dict) or not isinstance(get(value, "mimeType"), str):
                raise reject(f"* GenerateContentRequest.{where}.inline_data.mime_type: mimeType is required")
            if decode_bytes(value.get("data")) is None:
                raise reject(
                    f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed"
                )
            return MEDIA_TOKENS
        case "fileData":
            if not isinstance(value, dict) or not isinstance(get(value, "fileUri"), str):
                raise reject(f"* GenerateContentRequest.{where}.file_data.file_uri: fileUri is required")
            return MEDIA_TOKENS
        case "functionCall":
            if role != "model":
                raise reject(
                    f"* GenerateContentRequest.{where}.function_call: only the model can call functions"
                )
            name, args = value.get("name") if isinstance(value, dict) else None, get(value or {}, "args")
            if not isinstance(name, str) or not name:
                raise reject(f"* GenerateContentRequest.{where}.function_call.name: name is required")
            if args is not None and not isinstance(args, dict):
                raise reject(f"Invalid value at '{where}.function_call.args' ({STRUCT})")
            if turn is not None:
                turn.calls += 1
            return text.count_words(f"{name} {text.dumps(args or {}).decode()}")
        case "functionResponse":
            if role != "user":
                raise reject(f"* GenerateContentRequest.{where}.function_response: must be in a user turn")
            name, response = (
                value.get("name") if isinstance(value, dict) else None,
                get(value or {}, "response"),
            )
            if not isinstance(name, str) or not name:
                raise reject(f"* GenerateContentRequest.{where}.function_response.name: name is required")
            if not isinstance(response, dict):
                raise reject(f"Invalid value at '{where}.function_response.response' ({STRUCT})")
            rendered = text.dumps(response).decode()
            if turn is not None:
                turn.responses += 1
                turn.texts.append(rendered)
            return text.count_words(f"{name} {rendered}")
        case _:
            return 0  # code execution and server-side tool parts: accepted, not counted
