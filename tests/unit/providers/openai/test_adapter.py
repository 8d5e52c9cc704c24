"""OpenAIAdapter against golden files: upstream requests per vendor, answers and error mapping."""

from __future__ import annotations

import base64
import copy
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from switchgear.config import parse_settings
from switchgear.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from switchgear.core.redact import Redactor
from switchgear.providers import build_providers
from switchgear.providers.base import Deployment
from switchgear.providers.openai import OpenAIAdapter
from switchgear.transport.client import HttpRequest

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "openai"
UPSTREAM_GOLDENS = sorted(p.name for p in FIXTURES.glob("upstream_*.json"))

PROVIDERS = build_providers(
    parse_settings(
        {
            "providers": {
                "openai": {"type": "openai", "api_key": "sk-test-openai-0001"},
                "azure": {
                    "type": "azure",
                    "base_url": "https://contoso.openai.azure.com",
                    "api_key": "az-test-key-0002",
                },
                "mistral": {"type": "mistral", "api_key": "mistral-test-key-0003"},
                "ollama": {"type": "ollama"},
                "vllm": {"type": "vllm"},
                "org": {
                    "type": "openai",
                    "api_key": "sk-test-org-0004",
                    "headers": {"OpenAI-Organization": "org-7"},
                },
            }
        },
        {},
    )
)
ADAPTER = OpenAIAdapter()


def golden(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def deployment(provider: str, model: str = "m") -> Deployment:
    return Deployment(provider=PROVIDERS[provider], model=model)


def sent(request: HttpRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "params": request.params,
        "headers": request.headers,
        "body": json.loads(request.body),
    }


def chat(provider: str, body: dict[str, Any], *, want_usage: bool = True) -> dict[str, Any]:
    return sent(ADAPTER.build_passthrough("chat", body, deployment(provider), want_usage=want_usage))


# --- requests -----------------------------------------------------------------------------------


def test_every_upstream_golden_is_exercised() -> None:
    assert UPSTREAM_GOLDENS == [
        "upstream_azure_chat.json",
        "upstream_mistral_chat.json",
        "upstream_ollama_chat.json",
        "upstream_ollama_embeddings.json",
        "upstream_openai_chat.json",
        "upstream_openai_embeddings.json",
    ]


@pytest.mark.parametrize("name", UPSTREAM_GOLDENS)
def test_upstream_request_matches_golden(name: str) -> None:
    case = golden(name)
    body = golden(case["client_request"])
    original = copy.deepcopy(body)
    target = deployment(case["deployment"]["provider"], case["deployment"]["model"])
    request = ADAPTER.build_passthrough(case["endpoint"], body, target, want_usage=True)
    assert sent(request) == case["request"]
    assert body == original  # the client's body is not mutated
    assert isinstance(request.body, bytes)
    assert request.body.decode("utf-8")  # UTF-8 JSON, non-ASCII text carried as is


def test_body_is_forwarded_without_ascii_escapes() -> None:
    request = ADAPTER.build_passthrough(
        "chat", golden("chat_request.json"), deployment("openai"), want_usage=True
    )
    assert "Grüße from Zürich ☀".encode() in request.body


def test_non_streaming_request_gets_no_stream_options() -> None:
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
    assert chat("openai", body)["body"] == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_stream_usage_is_only_asked_for_when_wanted() -> None:
    body = {"model": "x", "messages": [], "stream": True}
    assert "stream_options" not in chat("openai", body, want_usage=False)["body"]
    assert chat("openai", body, want_usage=True)["body"]["stream_options"] == {"include_usage": True}


def test_client_stream_options_are_kept_and_usage_forced_without_mutating_them() -> None:
    options = {"include_usage": False, "include_obfuscation": False}
    body = {"model": "x", "messages": [], "stream": True, "stream_options": options}
    assert chat("openai", body)["body"]["stream_options"] == {
        "include_usage": True,
        "include_obfuscation": False,
    }
    assert options == {"include_usage": False, "include_obfuscation": False}
    assert body["stream_options"] is options


def test_mistral_keeps_an_explicit_max_tokens() -> None:
    body = {"model": "x", "messages": [], "max_tokens": 10, "max_completion_tokens": 99}
    assert chat("mistral", body)["body"] == {"model": "m", "messages": [], "max_tokens": 10}


def test_configured_headers_are_sent_with_the_key() -> None:
    headers = chat("org", {"model": "x", "messages": []})["headers"]
    assert headers == {
        "content-type": "application/json",
        "openai-organization": "org-7",
        "authorization": "Bearer sk-test-org-0004",
    }


def test_completions_path() -> None:
    request = ADAPTER.build_passthrough(
        "completions", {"model": "x", "prompt": "hi"}, deployment("vllm", "q"), want_usage=False
    )
    assert request.url == "http://127.0.0.1:8000/v1/completions"
    assert json.loads(request.body) == {"model": "q", "prompt": "hi"}


# --- answers ------------------------------------------------------------------------------------


def test_chat_answer_is_returned_unchanged_with_its_usage() -> None:
    raw = (FIXTURES / "chat_response.json").read_bytes()
    out, usage = ADAPTER.read_answer("chat", {}, raw, deployment("openai"))
    assert out == raw
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens, usage.reasoning_tokens) == (
        1310, 6, 1152, 0,
    )  # fmt: skip
    assert usage.total_tokens == 1316
    assert usage.reported and not usage.suspicious


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_answer_with_suspicious_usage_is_restated(endpoint: Any) -> None:
    answer = golden("chat_response.json")
    usage = {**answer["usage"], "prompt_tokens": -5, "completion_tokens": 10**20, "total_tokens": 10**20}
    out, read = ADAPTER.read_answer(
        endpoint, {}, json.dumps({**answer, "usage": usage}).encode(), deployment("openai")
    )
    restated = {**usage, "prompt_tokens": 0, "completion_tokens": 100_000_000, "total_tokens": 100_000_000,
                "prompt_tokens_details": {**usage["prompt_tokens_details"], "cached_tokens": 0}}  # fmt: skip
    assert json.loads(out) == {**answer, "usage": restated}  # cached tokens bounded by the prompt
    assert (read.prompt_tokens, read.completion_tokens, read.cached_tokens, read.suspicious) == (
        0, 100_000_000, 0, True,
    )  # fmt: skip


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings_with_suspicious_usage_are_restated(encoding: str) -> None:
    answer = golden("embeddings_response_float.json")
    raw = json.dumps({**answer, "usage": {"prompt_tokens": -3, "total_tokens": -3}}).encode()
    out, read = ADAPTER.read_answer("embeddings", {"encoding_format": encoding}, raw, deployment("ollama"))
    assert json.loads(out)["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    assert isinstance(json.loads(out)["data"][0]["embedding"], list if encoding == "float" else str)
    assert read.suspicious


def test_answer_without_usage() -> None:
    raw = b'{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}'
    _, usage = ADAPTER.read_answer("chat", {}, raw, deployment("vllm"))
    assert not usage.reported and usage.total_tokens == 0


@pytest.mark.parametrize(
    ("endpoint", "raw", "message"),
    [
        (
            "chat",
            b"<html><body>502 Bad Gateway</body></html>",
            "provider 'ollama' answered with a body that is not JSON",
        ),
        ("chat", b"", "provider 'ollama' answered with a body that is not JSON"),
        ("chat", b'[{"choices": []}]', "provider 'ollama' answered with a non-object body"),
        (
            "chat",
            b'{"id": "chatcmpl-1", "object": "chat.completion"}',
            "provider 'ollama' answered without 'choices': not an OpenAI chat response",
        ),
        (
            "embeddings",
            b'{"object": "list"}',
            "provider 'ollama' answered without 'data': not an OpenAI embeddings response",
        ),
    ],
)
def test_answers_that_are_not_the_wire_format(endpoint: Any, raw: bytes, message: str) -> None:
    with pytest.raises(UpstreamProtocolError) as caught:
        ADAPTER.read_answer(endpoint, {}, raw, deployment("ollama"))
    assert caught.value.message == message
    assert caught.value.provider == "ollama"
    assert caught.value.status == 502
    assert caught.value.code == "upstream_protocol_error"


def test_error_object_with_status_200_is_an_upstream_error() -> None:
    raw = (
        b'{"error": {"message": "The server had an error processing your request.", "type": "server_error"}}'
    )
    with pytest.raises(UpstreamError) as caught:
        ADAPTER.read_answer("chat", {}, raw, deployment("openai"))
    error = caught.value
    assert isinstance(error, UpstreamProtocolError)
    assert error.status == 502 and error.retryable
    assert error.provider == "openai"
    assert "answered HTTP 200 with an error: The server had an error" in error.message


def test_float_embeddings_are_re_encoded_as_base64_for_a_client_that_asked() -> None:
    raw = (FIXTURES / "embeddings_response_float.json").read_bytes()
    out, usage = ADAPTER.read_answer(
        "embeddings", golden("embeddings_request.json"), raw, deployment("ollama")
    )
    answer = json.loads(out)
    floats = [item["embedding"] for item in golden("embeddings_response_float.json")["data"]]
    for item, expected in zip(answer["data"], floats, strict=True):
        assert isinstance(item["embedding"], str)
        decoded = struct.unpack(f"<{len(expected)}f", base64.b64decode(item["embedding"]))
        assert decoded == struct.unpack(f"<{len(expected)}f", struct.pack(f"<{len(expected)}f", *expected))
    assert (
        answer["data"][0]["embedding"]
        == base64.b64encode(struct.pack("<4f", 0.5, -0.25, 0.125, 1.0)).decode()
    )
    assert [item["index"] for item in answer["data"]] == [0, 1]
    assert answer["model"] == "nomic-embed-text"
    assert usage.prompt_tokens == 11 and usage.completion_tokens == 0


def test_float_embeddings_stay_floats_when_the_client_asked_floats() -> None:
    raw = (FIXTURES / "embeddings_response_float.json").read_bytes()
    out, _ = ADAPTER.read_answer("embeddings", {"model": "e", "input": "x"}, raw, deployment("ollama"))
    assert out == raw


def test_base64_embeddings_of_a_vendor_that_has_them_pass_through() -> None:
    raw = b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAPw=="}],"usage":{}}'
    out, _ = ADAPTER.read_answer("embeddings", {"encoding_format": "base64"}, raw, deployment("openai"))
    assert out == raw


def test_embedding_that_is_not_a_list_is_a_protocol_error() -> None:
    raw = b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAPw=="}]}'
    with pytest.raises(UpstreamProtocolError, match="embedding that is not a list"):
        ADAPTER.read_answer("embeddings", {"encoding_format": "base64"}, raw, deployment("ollama"))


def test_embedding_holding_a_non_number_is_a_protocol_error() -> None:
    raw = b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,null]}]}'
    with pytest.raises(UpstreamProtocolError):
        ADAPTER.read_answer("embeddings", {"encoding_format": "base64"}, raw, deployment("ollama"))


# --- errors -------------------------------------------------------------------------------------


def openai_error(
    message: str, type_: str | None = None, code: str | None = None, param: str | None = None
) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


def test_openai_error_shape() -> None:
    body = openai_error(
        "This model's maximum context length is 128000 tokens. "
        "However, your messages resulted in 130001 tokens.",
        "invalid_request_error", "context_length_exceeded", "messages",
    )  # fmt: skip
    error = ADAPTER.map_error(400, {}, body, "openai")
    assert isinstance(error, UpstreamStatusError)
    assert error.message == (
        "provider 'openai': This model's maximum context length is 128000 tokens. "
        "However, your messages resulted in 130001 tokens."
    )
    assert (error.status, error.type, error.code, error.param) == (
        400, "invalid_request_error", "context_length_exceeded", "messages",
    )  # fmt: skip
    assert error.upstream_status == 400 and error.upstream_type == "invalid_request_error"
    assert error.provider == "openai"
    assert not error.retryable
    assert error.headers == ()


def test_vllm_detail_shape() -> None:
    error = ADAPTER.map_error(400, {}, b'{"detail": "max_tokens must be at least 1, got 0."}', "vllm")
    assert error.message == "provider 'vllm': max_tokens must be at least 1, got 0."
    assert error.status == 400


def test_fastapi_validation_detail_list() -> None:
    body = (
        b'{"detail": [{"loc": ["body", "messages"], "msg": "field required", "type": "value_error.missing"}]}'
    )
    error = ADAPTER.map_error(422, {}, body, "vllm")
    assert error.status == 400
    assert error.message.startswith("provider 'vllm': ")
    assert "field required" in error.message


def test_ollama_string_error_shape() -> None:
    body = b'{"error": "model \\"llama9\\" not found, try pulling it first"}'
    error = ADAPTER.map_error(404, {}, body, "ollama")
    assert error.message == "provider 'ollama': model \"llama9\" not found, try pulling it first"
    assert (error.status, error.type, error.code) == (404, "not_found_error", "model_not_found")
    assert error.retryable


def test_non_json_client_error_body_is_carried_as_text() -> None:
    error = ADAPTER.map_error(403, {}, b"  <html><body>Access denied</body></html>\n", "edge")
    assert error.message == "provider 'edge': <html><body>Access denied</body></html>"
    assert error.status == 403


@pytest.mark.parametrize("status", [500, 502, 503, 504, 529])
@pytest.mark.parametrize(
    "body",
    [
        openai_error("Internal error at db-primary.internal:5432 (tenant acme)", "server_error", "db_down"),
        b"<html><head><title>502 Bad Gateway</title></head>"
        b"<body>nginx at db-primary.internal:5432</body></html>",
        b'{"detail": "Traceback at db-primary.internal:5432"}',
    ],
)
def test_server_errors_are_masked(status: int, body: bytes) -> None:
    error = ADAPTER.map_error(status, {}, body, "openai")
    assert error.message == f"provider 'openai' failed with HTTP {status}"
    assert error.code in ("upstream_error", "overloaded", "timeout")  # never the upstream's own code


def test_error_without_a_message() -> None:
    error = ADAPTER.map_error(400, {}, b"", "openai")
    assert error.message == "provider 'openai' failed with HTTP 400"
    error = ADAPTER.map_error(400, {}, b'{"error": {"code": "x"}}', "openai")
    assert error.message == "provider 'openai' failed with HTTP 400"


def test_rate_limit_carries_retry_after() -> None:
    body = openai_error(
        "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3.",
        "requests",
        "rate_limit_exceeded",
    )
    error = ADAPTER.map_error(
        429, {"retry-after": "7", "x-ratelimit-remaining-requests": "0"}, body, "openai"
    )
    assert (error.status, error.type, error.code) == (429, "rate_limit_error", "rate_limit_exceeded")
    assert error.headers == (("retry-after", "7"),)
    assert isinstance(error, UpstreamStatusError) and error.retry_after == "7"
    assert error.retryable


def test_no_retry_after_header_when_the_provider_sent_none() -> None:
    assert ADAPTER.map_error(429, {}, openai_error("slow down"), "openai").headers == ()


@pytest.mark.parametrize(
    ("upstream", "status", "type_", "code", "retryable"),
    [
        (400, 400, "invalid_request_error", None, False),
        (401, 401, "authentication_error", "invalid_api_key", False),
        (402, 402, "insufficient_quota", "insufficient_quota", True),
        (403, 403, "permission_error", None, True),
        (404, 404, "not_found_error", "model_not_found", True),
        (408, 504, "server_error", "timeout", True),
        (413, 413, "invalid_request_error", "request_too_large", False),
        (422, 400, "invalid_request_error", None, False),
        (429, 429, "rate_limit_error", "rate_limit_exceeded", True),
        (500, 502, "server_error", "upstream_error", True),
        (502, 502, "server_error", "upstream_error", True),
        (503, 503, "server_error", "overloaded", True),
        (504, 504, "server_error", "timeout", True),
        (529, 503, "server_error", "overloaded", True),
    ],
)
def test_status_mapping(upstream: int, status: int, type_: str, code: str | None, retryable: bool) -> None:
    error = ADAPTER.map_error(upstream, {}, openai_error("something went wrong"), "p")
    assert (error.status, error.type, error.code, error.retryable) == (status, type_, code, retryable)
    assert isinstance(error, UpstreamStatusError) and error.upstream_status == upstream


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        (
            "Incorrect API key provided: sk-proj-Ab12Cd34Ef56Gh78Ij90. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "Ab12Cd34Ef56Gh78Ij90",
        ),
        (
            "GET https://generativelanguage.googleapis.com/v1beta/models?key=k3y-VALUE-9f8e7d&alt=sse failed",
            "k3y-VALUE-9f8e7d",
        ),
        ("rejected header Authorization: Bearer tok_live_abcdef123456", "tok_live_abcdef123456"),
        ('bad request: {"api_key": "hunter2hunter2", "model": "x"}', "hunter2hunter2"),
    ],
)
def test_secrets_in_upstream_messages_are_redacted(message: str, secret: str) -> None:
    error = ADAPTER.map_error(400, {}, openai_error(message), "p")
    assert error.message.startswith("provider 'p': ")
    assert secret not in Redactor().error(error).message  # as the engine sends it on


def test_long_messages_are_cut() -> None:
    error = ADAPTER.map_error(400, {}, openai_error("x" * 50_000), "p")
    assert error.message == "provider 'p': " + "x" * 1000
