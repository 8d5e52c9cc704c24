"""Cohere error answers to gateway errors (WIRE-FORMATS 8.e), and the adapter's passthrough refusals."""

from __future__ import annotations

import pytest

from switchgear.core.errors import UpstreamStatusError
from switchgear.core.redact import Redactor
from tests.unit.providers.cohere.support import ADAPTER, deployment


def error(status: int, body: bytes, headers: dict[str, str] | None = None) -> UpstreamStatusError:
    exc = ADAPTER.map_error(status, headers or {}, body, "co")
    assert isinstance(exc, UpstreamStatusError)
    return exc


@pytest.mark.parametrize(
    ("status", "client_status", "type_", "code"),
    [
        (400, 400, "invalid_request_error", None),
        (401, 401, "authentication_error", "invalid_api_key"),
        (498, 401, "authentication_error", "invalid_api_key"),
        (403, 403, "permission_error", None),
        (404, 404, "not_found_error", "model_not_found"),
        (422, 400, "invalid_request_error", None),
        (429, 429, "rate_limit_error", "rate_limit_exceeded"),
        (499, 502, "server_error", "upstream_error"),
        (500, 502, "server_error", "upstream_error"),
        (501, 502, "server_error", "upstream_error"),
        (503, 503, "server_error", "overloaded"),
        (504, 504, "server_error", "timeout"),
    ],
)
def test_status_mapping(status: int, client_status: int, type_: str, code: str | None) -> None:
    exc = error(status, b'{"message": "what happened"}')
    assert (exc.status, exc.type, exc.code) == (client_status, type_, code)
    assert exc.upstream_status == {498: 401, 499: 500}.get(status, status)
    if client_status < 500:
        assert exc.message == "provider 'co': what happened"
    else:
        assert exc.message == f"provider 'co' failed with HTTP {status}"


def test_redaction_context_length_and_retry_after() -> None:
    exc = error(400, b'{"id": "x", "message": "invalid api key Bearer abcdefghijkl"}')
    assert Redactor().error(exc).message == "provider 'co': invalid api key Bearer ***"  # as sent on
    long = error(400, b'{"message": "too many tokens: size limit exceeded by 1200 tokens"}')
    assert long.code == "context_length_exceeded"
    limited = error(429, b'{"message": "slow down"}', {"retry-after": "7"})
    assert limited.retry_after == "7" and ("retry-after", "7") in limited.headers


def test_non_json_bodies() -> None:
    assert error(404, b"<html>nope</html>").message == "provider 'co': <html>nope</html>"
    assert error(400, b"").message == "provider 'co' failed with HTTP 400"


def test_no_passthrough() -> None:
    assert ADAPTER.passthrough_endpoints == frozenset()
    with pytest.raises(RuntimeError):
        ADAPTER.build_passthrough("chat", {}, deployment(), want_usage=True)
    with pytest.raises(RuntimeError):
        ADAPTER.read_answer("chat", {}, b"", deployment())
    with pytest.raises(RuntimeError):
        ADAPTER.stream_relay(deployment(), client_wants_usage=True)
