"""AnthropicAdapter.map_error: Anthropic error answers as gateway errors (WIRE-FORMATS §8.e)."""

from __future__ import annotations

import json

import pytest

from switchgear.core.errors import UpstreamStatusError

from .goldens import ADAPTER


def anthropic_error(type_: str, message: str) -> bytes:
    return json.dumps(
        {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_1"}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            anthropic_error("invalid_request_error", "messages: roles must alternate"),
            (
                400,
                "invalid_request_error",
                None,
                "invalid_request_error",
                False,
                "provider 'claude': messages: roles must alternate",
            ),
        ),
        (
            400,
            anthropic_error("invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum"),
            (
                400,
                "invalid_request_error",
                "context_length_exceeded",
                "invalid_request_error",
                False,
                "provider 'claude': prompt is too long: 215000 tokens > 200000 maximum",
            ),
        ),
        (
            401,
            anthropic_error("authentication_error", "invalid x-api-key: sk-ant-api03-AAAAbbbbCCCCdddd"),
            (
                401,
                "authentication_error",
                "invalid_api_key",
                "authentication_error",
                False,
                "provider 'claude': invalid x-api-key: sk-ant-api03-AAAAbbbbCCCCdddd",  # the engine redacts
            ),
        ),
        (
            402,
            anthropic_error("billing_error", "Your credit balance is too low."),
            (
                402,
                "insufficient_quota",
                "insufficient_quota",
                "billing_error",
                True,
                "provider 'claude': Your credit balance is too low.",
            ),
        ),
        (
            404,
            anthropic_error("not_found_error", "model: claude-nope"),
            (
                404,
                "not_found_error",
                "model_not_found",
                "not_found_error",
                True,
                "provider 'claude': model: claude-nope",
            ),
        ),
        (
            413,
            anthropic_error("request_too_large", "Request exceeds the maximum allowed number of bytes."),
            (
                413,
                "invalid_request_error",
                "request_too_large",
                "request_too_large",
                False,
                "provider 'claude': Request exceeds the maximum allowed number of bytes.",
            ),
        ),
        (
            429,
            anthropic_error(
                "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
            ),
            (
                429,
                "rate_limit_error",
                "rate_limit_exceeded",
                "rate_limit_error",
                True,
                "provider 'claude': Number of request tokens has exceeded your per-minute rate limit",
            ),
        ),
        (
            500,
            anthropic_error("api_error", "Internal server error at node 10.0.0.7"),
            (
                502,
                "server_error",
                "upstream_error",
                "api_error",
                True,
                "provider 'claude' failed with HTTP 500 (api_error)",
            ),
        ),
        (
            504,
            anthropic_error("timeout_error", "Request timed out"),
            (
                504,
                "server_error",
                "timeout",
                "timeout_error",
                True,
                "provider 'claude' failed with HTTP 504 (timeout_error)",
            ),
        ),
        (
            529,
            anthropic_error("overloaded_error", "Overloaded"),
            (
                503,
                "server_error",
                "overloaded",
                "overloaded_error",
                True,
                "provider 'claude' failed with HTTP 529 (overloaded_error)",
            ),
        ),
        (
            502,
            b"<html><body>502 Bad Gateway</body></html>",
            (
                502,
                "server_error",
                "upstream_error",
                "api_error",
                True,
                "provider 'claude' failed with HTTP 502",
            ),
        ),
        (
            400,
            b"plain text complaint",
            (
                400,
                "invalid_request_error",
                None,
                "invalid_request_error",
                False,
                "provider 'claude': plain text complaint",
            ),
        ),
        (
            403,
            b"",
            (
                403,
                "permission_error",
                None,
                "permission_error",
                True,
                "provider 'claude' failed with HTTP 403",
            ),
        ),
    ],
)
def test_map_error(status: int, body: bytes, expected: tuple[object, ...]) -> None:
    exc = ADAPTER.map_error(status, {}, body, "claude")
    assert isinstance(exc, UpstreamStatusError)
    assert (exc.status, exc.type, exc.code, exc.anthropic_type, exc.retryable, exc.message) == expected
    assert exc.upstream_status == status
    assert exc.provider == "claude"


def test_upstream_type_is_recorded_and_only_when_it_looks_like_one() -> None:
    exc = ADAPTER.map_error(529, {}, anthropic_error("overloaded_error", "Overloaded"), "claude")
    assert isinstance(exc, UpstreamStatusError)
    assert exc.upstream_type == "overloaded_error"
    weird = ADAPTER.map_error(500, {}, anthropic_error("<script>", "x"), "claude")
    assert weird.message == "provider 'claude' failed with HTTP 500"


def test_retry_after_is_carried() -> None:
    exc = ADAPTER.map_error(
        429, {"retry-after": "17"}, anthropic_error("rate_limit_error", "slow down"), "claude"
    )
    assert isinstance(exc, UpstreamStatusError)
    assert exc.retry_after == "17"
    assert exc.headers == (("retry-after", "17"),)


@pytest.mark.parametrize(("millis", "seconds"), [("1500", "2"), ("20", "1"), ("soon", None), ("inf", None)])
def test_retry_after_ms_when_retry_after_is_missing(millis: str, seconds: str | None) -> None:
    exc = ADAPTER.map_error(
        529, {"retry-after-ms": millis}, anthropic_error("overloaded_error", "x"), "claude"
    )
    assert isinstance(exc, UpstreamStatusError)
    assert exc.retry_after == seconds


def test_long_messages_are_bounded() -> None:
    exc = ADAPTER.map_error(400, {}, anthropic_error("invalid_request_error", "x" * 5000), "claude")
    assert exc.message == "provider 'claude': " + "x" * 1000
