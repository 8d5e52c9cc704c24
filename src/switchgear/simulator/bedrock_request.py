"""What the simulated Bedrock checks before it answers: the SigV4 signature and the Converse body.

SigV4 is recomputed the way AWS does: the canonical request is the method, the path *exactly as
received* with each segment URI-encoded once more (``%3A`` → ``%253A``, as for every service but
S3), the sorted raw query, the signed headers (lower-cased, whitespace collapsed), the
signed-header list and the payload hash (``x-amz-content-sha256`` when sent, ``UNSIGNED-PAYLOAD``
allowed, else the body's SHA-256); the key is the HMAC chain ``"AWS4" + secret`` → date → region
→ service → ``aws4_request``. The region and clock skew are not checked, so recorded requests
replay. Body validation uses Bedrock's own wording: role alternation starting with ``user``,
non-blank text, ``toolResult``/``toolUse`` pairing between consecutive turns, ``toolConfig``
required once tool blocks appear, and the field constraints. Every refusal is raised as a
:class:`~.delivery.Reject` carrying the AWS error answer (403 for auth, 400 for the body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

from switchgear.simulator.bedrock_eventstream import aws_reject
from switchgear.simulator.delivery import Reject

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DEFAULT_CREDENTIALS: dict[str, str] = {"AKIDSIMULATOR": "sim-secret"}
BEDROCK_CREDENTIALS: web.AppKey[dict[str, str]] = web.AppKey("switchgear_sim_bedrock_credentials", dict)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_AUTH_FIELD = re.compile(r"\s*(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]*)\s*")

# --------------------------------------------------------------------------------------- SigV4


@dataclass(frozen=True)
class Authorization:
    """The parsed fields of a SigV4 ``Authorization`` header."""

    key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _refuse(message: str, name: str = "InvalidSignatureException") -> Reject:
    return aws_reject(message, name, 403, namespace="com.amazon.coral.service")


def _incomplete(message: str) -> Reject:
    return _refuse(message, "IncompleteSignatureException")


def parse_authorization(value: str) -> Authorization:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` (403 if malformed)."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': {algorithm!r}; only {ALGORITHM} is accepted.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _AUTH_FIELD.fullmatch(part)
        if match is None:
            raise _incomplete(f"'{part.strip()}' is not a valid key=value pair in the Authorization header.")
        fields[match.group(1)] = match.group(2)
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise _incomplete(f"Authorization header requires '{name}' parameter.")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise _incomplete(
            f"Credential should be <key>/<date>/<region>/<service>/aws4_request: '{fields['Credential']}'."
        )
    headers = tuple(fields["SignedHeaders"].split(";"))
    return Authorization(scope[0], scope[1], scope[2], scope[3], headers, fields["Signature"])


def canonical_uri(raw_path: str) -> str:
    """The received (already percent-encoded) path without dot/empty segments, encoded again."""
    out: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    trailing = "/" if raw_path.endswith("/") and out else ""
    return quote("/" + "/".join(out) + trailing, safe="/~")


def canonical_query(raw_query: str) -> str:
    """The raw query's ``k=v`` pairs sorted by key then value (encoding left as sent)."""
    if not raw_query:
        return ""
    pairs = sorted(pair.partition("=") for pair in raw_query.split("&"))
    return "&".join(f"{key}={value}" for key, _, value in pairs)


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, Sequence[str]], signed: Sequence[str]
) -> str:
    """The SigV4 canonical request without its last line (the payload hash).

    ``headers`` maps lower-cased names to all their values.
    """
    lines = "".join(f"{n}:{','.join(' '.join(v.split()) for v in headers.get(n, ()))}\n" for n in signed)
    parts = [method.upper(), canonical_uri(raw_path), canonical_query(raw_query), lines, ";".join(signed)]
    return "\n".join(parts)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signature(secret: str, amz_date: str, auth: Authorization, request: str) -> str:
    """The hex signature of a canonical request under ``auth``'s credential scope."""
    scope = f"{auth.date}/{auth.region}/{auth.service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
    key = ("AWS4" + secret).encode()
    for part in (auth.date, auth.region, auth.service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify_sigv4(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, Sequence[str]],
    body: bytes,
    credentials: Mapping[str, str],
    service: str = "bedrock",
) -> None:
    """Return when the request is validly signed, else raise the 403 AWS answers with.

    ``headers`` maps lower-cased header names to every value received for them.
    """
    values = headers.get("authorization")
    if not values:
        raise _refuse("Missing Authentication Token", "MissingAuthenticationTokenException")
    auth = parse_authorization(values[0])
    amz_date = (headers.get("x-amz-date") or [""])[0].strip()
    if not _AMZ_DATE.fullmatch(amz_date):
        raise _incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if auth.date != amz_date[:8]:
        raise _refuse(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 date '{amz_date}'.")
    if auth.service != service:
        raise _refuse(f"Credential should be scoped to correct service: '{service}'.")
    secret = credentials.get(auth.key_id)
    if secret is None:
        raise _refuse("The security token included in the request is invalid.", "UnrecognizedClientException")
    if "host" not in auth.signed_headers:
        raise _incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    body_hash = hashlib.sha256(body).hexdigest()
    payload_hash = (headers.get("x-amz-content-sha256") or [body_hash])[0].strip()
    if payload_hash not in (body_hash, UNSIGNED_PAYLOAD):
        raise _refuse("The provided 'x-amz-content-sha256' header does not match what was computed.")
    request = canonical_request(method, raw_path, raw_query, headers, auth.signed_headers)
    expected = signature(secret, amz_date, auth, f"{request}\n{payload_hash}")
    if any(name not in headers for name in auth.signed_headers) or not hmac.compare_digest(
        expected, auth.signature
    ):
        raise _refuse(SIGNATURE_MISMATCH)


def authenticate(request: web.Request, body: bytes) -> None:
    """Check a received request's signature against ``app[BEDROCK_CREDENTIALS]`` (403 otherwise)."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    raw_path, _, raw_query = request.raw_path.partition("?")
    credentials: dict[str, str] = request.app.get(BEDROCK_CREDENTIALS) or DEFAULT_CREDENTIALS
    verify_sigv4(
        method=request.method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers,
        body=body,
        credentials=credentials,
    )


# ---------------------------------------------------------------------------------- validation

FIRST_USER = (
    "A conversation must start with a user message. Try again with a conversation that starts with a "
    "user message."
)
ALTERNATE = (
    "A conversation must alternate between user and assistant roles. Make sure the conversation "
    "alternates between user and assistant roles and try again."
)
TOOL_CONFIG = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
_MESSAGES = {
    "blank": "The text field in the {kind} object at {where} is blank. Add text to the text field, and "
    "try again.",
    "empty": "The content field in the Message object at {where} is empty. Add a ContentBlock object to the "
    "content field and try again.",
    "extra": "The number of toolResult blocks at {where}.content exceeds the number of toolUse blocks of "
    "previous turn.",
    "unknown": "The toolUseId {id} of a toolResult block at {where}.content matches no toolUse block of the "
    "previous turn.",
    "expected": "Expected toolResult blocks at {where}.content for the following Ids: {id}",
    "invalid": "1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
    "{rule}",
}
_BLOCKS = {
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
}
_BLOCKS |= {"reasoningContent", "citationsContent", "searchResult"}
_IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def _fail(key: str, **fields: object) -> Reject:
    return aws_reject(_MESSAGES[key].format(**fields))


def _invalid(value: Any, where: str, rule: str) -> Reject:
    shown = value if isinstance(value, str | int | float) else type(value).__name__
    return _fail("invalid", value=shown, where=where, rule=rule)


def parse_payload(body: bytes) -> dict[str, Any]:
    """The JSON object body (400 ``SerializationException`` otherwise)."""
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict):
        raise aws_reject("The request body is not a valid JSON object.", "SerializationException")
    return payload


def _union(value: Any, members: Collection[str], where: str) -> tuple[str, Any]:
    present = [k for k, v in value.items() if v is not None] if isinstance(value, dict) else []
    if len(present) != 1 or present[0] not in members:
        raise _invalid(value, where, f"Member must set exactly one of [{', '.join(sorted(members))}]")
    return present[0], value[present[0]]


def _string(value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
        raise _invalid(value, where, f"Member must satisfy regular expression pattern: {pattern or '.*'}")
    return value


def _text(value: Any, where: str, kind: str) -> None:
    if not _string(value, f"{where}.text").strip():
        raise _fail("blank", kind=kind, where=where)


def _block(block: Any, where: str) -> tuple[str, Any]:
    kind, value = _union(block, _BLOCKS, where)
    item = value if isinstance(value, dict) else {}
    match kind:
        case "text":
            _text(value, where, "ContentBlock")
        case "image":
            if item.get("format") not in _IMAGE_FORMATS:
                rule = f"Member must satisfy enum value set: [{', '.join(_IMAGE_FORMATS)}]"
                raise _invalid(item.get("format"), f"{where}.image.format", rule)
            source, data = _union(item.get("source"), ("bytes", "s3Location"), f"{where}.image.source")
            try:
                if source == "bytes":
                    base64.b64decode(_string(data, f"{where}.image.source.bytes"), validate=True)
            except binascii.Error:
                raise _invalid("<bytes>", f"{where}.image.source.bytes", "Member must be base64") from None
        case "toolUse":
            _string(item.get("toolUseId"), f"{where}.toolUse.toolUseId", _TOOL_USE_ID)
            _string(item.get("name"), f"{where}.toolUse.name", _TOOL_NAME)
            if not isinstance(item.get("input"), dict):
                raise _invalid(item.get("input"), f"{where}.toolUse.input", "Member must be a JSON object")
        case "toolResult":
            _string(item.get("toolUseId"), f"{where}.toolResult.toolUseId", _TOOL_USE_ID)
            content = item.get("content")
            if not isinstance(content, list) or (not content and item.get("status") == "error"):
                raise _invalid(content, f"{where}.toolResult.content", "Member must be a non-empty list")
            for k, part in enumerate(content):
                members = ("json", "text", "image", "document", "video", "searchResult")
                _union(part, members, f"{where}.toolResult.content.{k}")
            if item.get("status") not in (None, "success", "error"):
                rule = "Member must satisfy enum value set: [success, error]"
                raise _invalid(item.get("status"), f"{where}.toolResult.status", rule)
        case _:
            pass
    return kind, value


def _messages(messages: Any) -> bool:
    """Validate the turns; return whether any tool block appears."""
    if not isinstance(messages, list):
        raise _invalid(messages, "messages", "Member must be a list of Message objects")
    tool_blocks = False
    previous_uses: list[str] = []
    previous_role = None
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise _invalid(
                role, f"{where}.member.role", "Member must satisfy enum value set: [user, assistant]"
            )
        if role == previous_role or (previous_role is None and role != "user"):
            raise aws_reject(ALTERNATE if previous_role else FIRST_USER)
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise _fail("empty", where=where)
        blocks = [_block(block, f"{where}.content.{j}") for j, block in enumerate(content)]
        uses = [value["toolUseId"] for kind, value in blocks if kind == "toolUse"]
        results = [value["toolUseId"] for kind, value in blocks if kind == "toolResult"]
        tool_blocks = tool_blocks or bool(uses or results)
        if len(results) > len(previous_uses):
            raise _fail("extra", where=where)
        for unknown in (r for r in results if r not in previous_uses):
            raise _fail("unknown", where=where, id=unknown)
        missing = [u for u in previous_uses if u not in results]
        if missing:
            raise _fail("expected", where=where, id=", ".join(missing))
        previous_uses = uses if role == "assistant" else []
        previous_role = role
    return tool_blocks


def _inference(config: Any) -> None:
    if not isinstance(config, dict):
        raise _invalid(config, "inferenceConfig", "Member must be an object")
    for name, low, high in (("maxTokens", 1, None), ("temperature", 0, 1), ("topP", 0, 1)):
        value = config.get(name)
        kinds = int if name == "maxTokens" else int | float
        ok = isinstance(value, kinds) and not isinstance(value, bool) and value >= low
        if value is not None and not (ok and (high is None or value <= high)):
            bound = f"less than or equal to {high}" if ok else f"greater than or equal to {low}"
            raise _invalid(value, f"inferenceConfig.{name}", f"Member must have value {bound}")
    stops = config.get("stopSequences")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) and s for s in stops)):
        raise _invalid(stops, "inferenceConfig.stopSequences", "Member must be a list of non-empty strings")


def _tool_config(config: Any) -> None:
    tools = config.get("tools") if isinstance(config, dict) else None
    if not isinstance(tools, list) or not tools:
        raise _invalid(tools, "toolConfig.tools", "Member must have length greater than or equal to 1")
    for k, tool in enumerate(tools):
        kind, spec = _union(tool, ("toolSpec", "cachePoint", "systemTool"), f"toolConfig.tools.{k}")
        if kind == "toolSpec":
            spec = spec if isinstance(spec, dict) else {}
            _string(spec.get("name"), f"toolConfig.tools.{k}.toolSpec.name", _TOOL_NAME)
            _union(spec.get("inputSchema"), ("json",), f"toolConfig.tools.{k}.toolSpec.inputSchema")
    if config.get("toolChoice") is not None:
        kind, choice = _union(config["toolChoice"], ("auto", "any", "tool"), "toolConfig.toolChoice")
        name = choice.get("name") if isinstance(choice, dict) else None
        if kind == "tool":
            _string(name, "toolConfig.toolChoice.tool.name", _TOOL_NAME)


def validate(payload: dict[str, Any]) -> None:
    """Refuse (400 ``ValidationException``) what Bedrock's Converse refuses."""
    messages = payload.get("messages")
    if not messages:
        raise aws_reject(FIRST_USER if messages == [] else "The messages field is required.")
    tool_blocks = _messages(messages)
    for k, block in enumerate(payload.get("system") or []):
        kind, value = _union(block, ("text", "guardContent", "cachePoint"), f"system.{k}")
        if kind == "text":
            _text(value, f"system.{k}", "SystemContentBlock")
    if payload.get("inferenceConfig") is not None:
        _inference(payload["inferenceConfig"])
    if payload.get("toolConfig") is not None:
        _tool_config(payload["toolConfig"])
    elif tool_blocks:
        raise aws_reject(TOOL_CONFIG)
    extra = payload.get("additionalModelRequestFields")
    if extra is not None and not isinstance(extra, dict):
        raise _invalid(extra, "additionalModelRequestFields", "Member must be a JSON object")
