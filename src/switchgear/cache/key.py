"""The exact cache's key: a hash of the normalized request, scoped by tenant and namespace.

Normalized: the body as the client sent it (model as asked, messages / input, tools,
response_format and every other parameter), keys sorted, without the fields that do not change
the answer (``stream`` and ``stream_options``: a cached answer is replayed in either form;
``user``, ``metadata`` and the like: who asked, not what). The gateway's own controls (``cache``,
``tags``, fallbacks) were taken out of the body before it got here.

Scope: the virtual key's team, else the key itself; the master key and a gateway without
authentication each have a scope of their own. Two tenants never share a key, whatever they ask.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from switchgear.stages.context import Principal

# Fields that say who asked or how the answer is delivered, not what it is.
_IGNORED = frozenset(
    {"stream", "stream_options", "user", "metadata", "store", "safety_identifier", "prompt_cache_key"}
)


# Requests whose answers carry what the stored (canonical) form does not keep: token logprobs,
# audio, web-search citations, server-side tool results. They are never cached (a replay would
# lose those parts).
_SERVER_TOOLS = ("web_search", "web_fetch", "code_execution")


def replayable(api: str, body: dict[str, Any]) -> bool:
    """Whether a stored answer to this request would replay whole."""
    if api == "chat":
        if body.get("logprobs") or body.get("top_logprobs"):
            return False
        if body.get("audio") is not None or body.get("web_search_options") is not None:
            return False
        modalities = body.get("modalities")
        return not (isinstance(modalities, list) and "audio" in modalities)
    if api == "responses":
        return _responses_replayable(body)
    if body.get("mcp_servers"):
        return False
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            kind = tool.get("type") if isinstance(tool, dict) else None
            if isinstance(kind, str) and kind.startswith(_SERVER_TOOLS):
                return False
    return True


def _responses_replayable(body: dict[str, Any]) -> bool:
    """Stateless, function tools only, nothing extra included (logprobs, search results...)."""
    for name in ("previous_response_id", "conversation", "prompt", "background", "include"):
        if body.get(name):
            return False
    tools = body.get("tools")
    if isinstance(tools, list):
        return all(isinstance(tool, dict) and tool.get("type") == "function" for tool in tools)
    return True


def scope_of(principal: Principal) -> str:
    """The tenant a cached answer belongs to."""
    if principal.team_id is not None:
        return "team:" + principal.team_id
    if principal.key_id is not None:
        return "key:" + principal.key_id
    return "admin" if principal.is_admin else "open"


def cache_key(api: str, body: dict[str, Any], scope: str, namespace: str) -> str | None:
    """The hex key of this request, or None when its body cannot be normalized (numbers beyond 64
    bits: such a request is simply not cached)."""
    kept = {k: v for k, v in body.items() if k not in _IGNORED}
    try:
        normalized = orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{api}\0{scope}\0{namespace}\0".encode())
    digest.update(normalized)
    return digest.hexdigest()
