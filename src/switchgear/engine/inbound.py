"""What the pipeline needs to know of a client's request before choosing a deployment.

Each inbound API gets a cheap first look (``prepare``): the public model name, streaming,
whether the client wants usage in its stream, and the gateway's own fallback list, taken out of
the body. Every body is checked here, before any stage or provider sees it, passthrough or not
(``apis.rules.check_body``: refused parameters, the model name, the API's shape at every depth,
ranges and the output-token limit); a translating codec checks what its translation needs besides.
"""

from __future__ import annotations

from typing import Any, cast

from switchgear.apis.openai.checks import check
from switchgear.apis.rules import check_body, check_model_name
from switchgear.core.errors import InvalidRequest
from switchgear.providers.base import Endpoint
from switchgear.routing import preferences
from switchgear.stages.context import RequestContext
from switchgear.stages.request import Prepared


def prepare(api_name: str, body: Any, raw: bytes | None = None) -> Prepared:
    api = cast(Endpoint, api_name)
    cache = None
    if isinstance(body, dict) and "cache" in body:  # the gateway's cache controls, never forwarded
        cache = body.pop("cache")
        raw = None
    if api in ("chat", "completions", "embeddings"):
        tags = _strings(body.get("tags")) if isinstance(body, dict) else ()
        checked = check(api, body)
        model, provider = preferences.take(checked.body, checked.model)
        return Prepared(
            api,
            checked.body,
            model,
            checked.stream,
            checked.wants_usage,
            checked.fallbacks,
            tags=tags,
            cache=cache,
            provider=provider,
        )
    model = check_body(api, body)
    stream = body.get("stream") is True
    size = len(body)
    fallbacks = _fallbacks(body)
    tags = _strings(body.pop("tags", None))
    model, provider = preferences.take(body, model)
    raw = raw if len(body) == size else None
    return Prepared(api, body, model, stream, True, fallbacks, raw, tags, cache, provider)


def _strings(value: Any) -> tuple[str, ...]:
    """The strings of a ``tags`` list (anything else in it, or a non-list, is ignored)."""
    return tuple(t for t in value if isinstance(t, str)) if isinstance(value, list) else ()


def _fallbacks(body: dict[str, Any]) -> list[str]:
    """``models`` (OpenRouter) or ``fallbacks`` (LiteLLM: names, or Anthropic-style ``[{model}]``)."""
    found: list[str] = []
    for name in ("models", "fallbacks"):
        if name not in body:
            continue
        value = body.pop(name)
        if not isinstance(value, list):
            raise InvalidRequest(f"{name!r} must be an array of model names", param=name)
        for i, item in enumerate(value):
            model = item.get("model") if isinstance(item, dict) else item
            found.append(check_model_name(model, f"{name}[{i}]"))
    return found


_MAX_TAGS = 32
_MAX_TAG_LENGTH = 128


def identify(ctx: RequestContext, request: Prepared, tags_header: bytes | None) -> None:
    """The end-user, tags and metadata a request names, onto its context (for stages and records).

    End-user: ``user`` (Anthropic: ``metadata.user_id``). Tags: the ``x-switchgear-tags`` header
    (comma-separated), the body's ``tags`` and ``metadata.tags`` (lists of strings), in that order,
    each once; at most 32 tags of at most 128 characters are kept.
    """
    body = request.body
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        ctx.metadata = metadata
    user = metadata.get("user_id") if request.api == "messages" and metadata else body.get("user")
    if isinstance(user, str) and user:
        ctx.end_user = user
    tags: list[str] = []
    if tags_header:
        tags.extend(t.strip() for t in tags_header.decode("latin-1").split(","))
    listed = metadata.get("tags") if isinstance(metadata, dict) else None
    tags.extend(t.strip() for t in request.tags)
    tags.extend(t.strip() for t in _strings(listed))
    if tags:
        kept = dict.fromkeys(t for t in tags if t and len(t) <= _MAX_TAG_LENGTH)
        ctx.tags = tuple(kept)[:_MAX_TAGS]
