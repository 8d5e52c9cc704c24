"""Google error answers to gateway errors: classes per status, masking, redaction, Retry-After."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import UpstreamStatusError
from switchgear.core.redact import Redactor
from tests.unit.providers.gemini.support import ADAPTER, GEMINI_KEY


def google(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


def mapped(status: int, body: bytes, headers: dict[str, str] | None = None) -> UpstreamStatusError:
    error = ADAPTER.map_error(status, headers or {}, body, "gem")
    assert isinstance(error, UpstreamStatusError)
    return error


KEY_INVALID = google(
    400,
    "INVALID_ARGUMENT",
    "API key not valid. Please pass a valid API key.",
    [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }
    ],
)
QUOTA = google(
    429,
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details.",
    [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "x"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.2s"},
    ],
)


CONTEXT = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
OAUTH = "Request had invalid authentication credentials. Expected OAuth 2 access token."
INTERNAL = "An internal error has occurred. Please retry or report in https://developers.generativeai.google"


@pytest.mark.parametrize(
    ("status", "body", "expected", "message"),
    [
        (
            400,
            google(400, "INVALID_ARGUMENT", "* contents: contents is not specified\n"),
            (400, "invalid_request_error", None, "invalid_request_error", False),
            "* contents: contents is not specified",
        ),
        (
            400,
            google(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
            (400, "invalid_request_error", None, "invalid_request_error", False),
            "User location is not supported for the API use.",
        ),
        (
            400,
            google(400, "INVALID_ARGUMENT", CONTEXT),
            (400, "invalid_request_error", "context_length_exceeded", "invalid_request_error", False),
            CONTEXT,
        ),
        (
            400,
            KEY_INVALID,
            (401, "authentication_error", "invalid_api_key", "authentication_error", False),
            "API key not valid. Please pass a valid API key.",
        ),
        (
            401,
            google(401, "UNAUTHENTICATED", OAUTH),
            (401, "authentication_error", "invalid_api_key", "authentication_error", False),
            OAUTH,
        ),
        (
            403,
            google(403, "PERMISSION_DENIED", "Permission denied on resource project acme-prod."),
            (403, "permission_error", None, "permission_error", True),
            "Permission denied on resource project acme-prod.",
        ),
        (
            404,
            google(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta."),
            (404, "not_found_error", "model_not_found", "not_found_error", True),
            "models/gemini-9 is not found for API version v1beta.",
        ),
        (
            429,
            QUOTA,
            (429, "rate_limit_error", "rate_limit_exceeded", "rate_limit_error", True),
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        (
            413,
            b"Request Entity Too Large",
            (413, "invalid_request_error", "request_too_large", "request_too_large", False),
            "Request Entity Too Large",
        ),
        # 5xx: masked
        (
            503,
            google(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
            (503, "server_error", "overloaded", "overloaded_error", True),
            None,
        ),
        (
            500,
            google(500, "INTERNAL", INTERNAL),
            (502, "server_error", "upstream_error", "api_error", True),
            None,
        ),
        (
            504,
            google(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
            (504, "server_error", "timeout", "timeout_error", True),
            None,
        ),
        (
            502,
            b"<html><title>502 Bad Gateway</title></html>",
            (502, "server_error", "upstream_error", "api_error", True),
            None,
        ),
    ],
)
def test_error_mapping(status: int, body: bytes, expected: tuple[Any, ...], message: str | None) -> None:
    error = mapped(status, body)
    assert (error.status, error.type, error.code, error.anthropic_type, error.retryable) == expected
    assert error.provider == "gem"
    if message is not None:
        assert error.message == f"provider 'gem': {message}"
    else:
        google_status = json.loads(body)["error"]["status"] if body.startswith(b"{") else None
        suffix = f" ({google_status})" if google_status else ""
        assert error.message == f"provider 'gem' failed with HTTP {status}{suffix}"


def test_google_status_names_the_upstream_type() -> None:
    assert mapped(429, QUOTA).upstream_type == "RESOURCE_EXHAUSTED"
    assert mapped(502, b"nope").upstream_type is None


def test_retry_info_becomes_retry_after() -> None:
    error = mapped(429, QUOTA)
    assert error.retry_after == "38"
    assert ("retry-after", "38") in error.headers


def test_retry_after_header_wins() -> None:
    assert mapped(429, QUOTA, {"retry-after": "5"}).retry_after == "5"


def test_status_string_wins_over_a_generic_http_status() -> None:
    error = mapped(400, google(429, "RESOURCE_EXHAUSTED", "quota"))
    assert (error.status, error.type) == (429, "rate_limit_error")


def test_keys_echoed_by_google_are_redacted() -> None:
    url = (
        f"https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?alt=sse&key={GEMINI_KEY}"
    )
    body = google(
        400, "INVALID_ARGUMENT", f"Invalid request to {url}; api_key={GEMINI_KEY}; bearer ya29.a0AfH6SMBx"
    )
    error = Redactor().error(mapped(400, body))  # as the engine sends it on
    assert GEMINI_KEY not in error.message
    assert "AIza" not in error.message.replace("AIza***", "")
    assert "ya29.a0AfH6SMBx" not in error.message
    assert "key=***" in error.message


def test_long_messages_are_cut() -> None:
    error = mapped(400, google(400, "INVALID_ARGUMENT", "x" * 5000))
    assert len(error.message) == len("provider 'gem': ") + 1000


def test_error_without_message() -> None:
    error = mapped(400, b'{"error": {"code": 400, "status": "INVALID_ARGUMENT"}}')
    assert error.message == "provider 'gem' failed with HTTP 400 (INVALID_ARGUMENT)"
    assert error.status == 400
