"""Bedrock HTTP errors → gateway errors (WIRE-FORMATS §5.6, §8.e)."""

from __future__ import annotations

import json

import pytest

from switchgear.core.errors import UpstreamStatusError
from switchgear.core.redact import Redactor
from tests.unit.providers.bedrock.support import ADAPTER


def body(message: str, **extra: str) -> bytes:
    return json.dumps({"message": message, **extra}).encode()


CASES = [
    # (upstream status, error type header, client status, OpenAI type, code, retryable, message kept?)
    (400, "ValidationException", 400, "invalid_request_error", None, False, True),
    (400, "ServiceQuotaExceededException", 429, "rate_limit_error", "rate_limit_exceeded", True, True),
    (400, "ConflictException", 400, "invalid_request_error", None, False, True),
    (403, "AccessDeniedException", 403, "permission_error", None, True, True),
    (403, "UnrecognizedClientException", 401, "authentication_error", "invalid_api_key", False, True),
    (403, "InvalidSignatureException", 401, "authentication_error", "invalid_api_key", False, True),
    (404, "ResourceNotFoundException", 404, "not_found_error", "model_not_found", True, True),
    (408, "ModelTimeoutException", 504, "server_error", "timeout", True, False),
    (424, "ModelErrorException", 502, "server_error", "upstream_error", True, False),
    (429, "ThrottlingException", 429, "rate_limit_error", "rate_limit_exceeded", True, True),
    (429, "ModelNotReadyException", 429, "rate_limit_error", "rate_limit_exceeded", True, True),
    (500, "InternalServerException", 502, "server_error", "upstream_error", True, False),
    (503, "ServiceUnavailableException", 503, "server_error", "overloaded", True, False),
]


@pytest.mark.parametrize(("upstream", "name", "status", "type_", "code", "retryable", "kept"), CASES)
def test_error_classes(
    upstream: int, name: str, status: int, type_: str, code: str | None, retryable: bool, kept: bool
) -> None:
    headers = {"x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    exc = ADAPTER.map_error(upstream, headers, body("Detail from AWS."), "aws")
    assert isinstance(exc, UpstreamStatusError)
    assert (exc.status, exc.type, exc.code, exc.retryable) == (status, type_, code, retryable)
    assert (exc.upstream_status, exc.upstream_type, exc.provider) == (upstream, name, "aws")
    assert exc.metadata["provider_code"] == upstream
    if kept:
        assert exc.message == "provider 'aws': Detail from AWS."
    else:
        assert exc.message == f"provider 'aws' failed with HTTP {upstream} ({name})"


def test_name_from_the_body_when_the_header_is_missing() -> None:
    exc = ADAPTER.map_error(
        400, {}, body("quota", __type="com.amazon.coral#ServiceQuotaExceededException"), "aws"
    )
    assert (exc.status, exc.upstream_type) == (429, "ServiceQuotaExceededException")
    exc = ADAPTER.map_error(
        400, {}, json.dumps({"Message": "bad", "code": "ThrottlingException"}).encode(), "aws"
    )
    assert (exc.status, exc.message) == (429, "provider 'aws': bad")


def test_header_name_is_case_insensitive() -> None:
    exc = ADAPTER.map_error(400, {"X-Amzn-ErrorType": "ThrottlingException"}, body("slow"), "aws")
    assert exc.status == 429


def test_unknown_name_falls_back_to_the_status() -> None:
    assert ADAPTER.map_error(401, {}, body("who are you"), "aws").status == 401
    exc = ADAPTER.map_error(502, {"x-amzn-errortype": "SomethingNew"}, body("internal detail"), "aws")
    assert (exc.status, exc.message) == (502, "provider 'aws' failed with HTTP 502 (SomethingNew)")
    assert ADAPTER.map_error(500, {}, b"", "aws").message == "provider 'aws' failed with HTTP 500"


def test_context_too_long_gets_its_code() -> None:
    exc = ADAPTER.map_error(
        400,
        {"x-amzn-errortype": "ValidationException"},
        body("Input is too long for requested model."),
        "aws",
    )
    assert (exc.status, exc.code) == (400, "context_length_exceeded")
    exc = ADAPTER.map_error(
        400,
        {"x-amzn-errortype": "ValidationException"},
        body("prompt is too long: 210000 tokens > 200000 maximum"),
        "aws",
    )
    assert exc.code == "context_length_exceeded"


def test_messages_are_cut_and_redacted_on_the_way_out() -> None:
    exc = ADAPTER.map_error(
        400,
        {"x-amzn-errortype": "ValidationException"},
        body("bad header Authorization: Bearer abcdefghijklmnop " + "x" * 3000),
        "aws",
    )
    assert len(exc.message) <= len("provider 'aws': ") + 1000
    assert "abcdefghijklmnop" not in Redactor().error(exc).message  # as the engine sends it on


def test_non_json_bodies() -> None:
    exc = ADAPTER.map_error(
        403, {}, b"<AccessDeniedException><Message>no</Message></AccessDeniedException>", "aws"
    )
    assert exc.status == 403
    assert exc.message.startswith("provider 'aws': <AccessDeniedException>")
    assert ADAPTER.map_error(400, {}, b"{}", "aws").message == "provider 'aws' failed with HTTP 400"


def test_retry_after_is_kept() -> None:
    exc = ADAPTER.map_error(
        429, {"x-amzn-errortype": "ThrottlingException", "retry-after": "3"}, body("slow"), "aws"
    )
    assert exc.retry_after == "3"
    assert ("retry-after", "3") in exc.headers
