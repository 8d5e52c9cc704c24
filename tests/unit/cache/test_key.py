from __future__ import annotations

from switchgear.cache.key import cache_key, replayable, scope_of
from switchgear.stages.context import ANONYMOUS, MASTER, Principal

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}


def test_key_ignores_order_stream_and_user_but_not_parameters() -> None:
    base = cache_key("chat", BODY, "open", "")
    reordered = {"temperature": 0.2, "messages": BODY["messages"], "model": "m"}
    assert cache_key("chat", reordered, "open", "") == base
    streamed = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    assert cache_key("chat", streamed, "open", "") == base
    assert cache_key("chat", {**BODY, "user": "alice", "metadata": {"a": "b"}}, "open", "") == base
    assert cache_key("chat", {**BODY, "temperature": 0.3}, "open", "") != base
    assert cache_key("chat", {**BODY, "tools": [{"type": "function"}]}, "open", "") != base
    assert cache_key("chat", {**BODY, "model": "n"}, "open", "") != base
    assert cache_key("messages", BODY, "open", "") != base
    assert cache_key("chat", BODY, "open", "ns") != base
    assert cache_key("chat", BODY, "team:a", "") != base


def test_numbers_beyond_64_bits_are_not_cached() -> None:
    assert cache_key("chat", {**BODY, "seed": 2**70}, "open", "") is None


def test_scopes() -> None:
    assert scope_of(Principal(key_id="k1", team_id="t1")) == "team:t1"
    assert scope_of(Principal(key_id="k1")) == "key:k1"
    assert scope_of(MASTER) == "admin"
    assert scope_of(ANONYMOUS) == "open"
    # a key id never collides with a team id of the same text
    assert scope_of(Principal(key_id="x")) != scope_of(Principal(team_id="x"))


def test_requests_whose_answers_would_not_replay_whole_are_not_cached() -> None:
    assert replayable("chat", BODY)
    assert replayable("chat", {**BODY, "logprobs": False})
    assert not replayable("chat", {**BODY, "logprobs": True, "top_logprobs": 2})
    assert not replayable("chat", {**BODY, "modalities": ["text", "audio"]})
    assert not replayable("chat", {**BODY, "web_search_options": {}})
    assert not replayable("chat", {**BODY, "audio": {"voice": "alloy", "format": "wav"}})
    messages = {"model": "c", "max_tokens": 10, "messages": BODY["messages"]}
    assert replayable("messages", {**messages, "tools": [{"name": "f", "input_schema": {}}]})
    assert replayable("messages", {**messages, "tools": [{"type": "bash_20250124", "name": "bash"}]})
    assert not replayable("messages", {**messages, "tools": [{"type": "web_search_20250305", "name": "w"}]})
    assert not replayable("messages", {**messages, "mcp_servers": [{"type": "url", "url": "https://x"}]})
