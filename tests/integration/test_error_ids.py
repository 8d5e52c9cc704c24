"""Anthropic-shaped errors carry the request id the ``request-id`` header carries."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.gateway import GatewayThread


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{oops", 400),
        (b'{"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}', 404),
        (
            b'{"model": "s-anthropic/claude-sim;status=529", "max_tokens": 5, '
            b'"messages": [{"role": "user", "content": "hi"}]}',
            503,
        ),
    ],
)
def test_anthropic_error_bodies_name_the_request(gateway: GatewayThread, body: bytes, status: int) -> None:
    response = httpx.post(
        gateway.url + "/v1/messages", content=body, headers={"anthropic-version": "2023-06-01"}
    )
    assert response.status_code == status
    error = response.json()
    assert error["type"] == "error"
    assert error["request_id"] == response.headers["request-id"] == response.headers["x-request-id"]
    assert error["request_id"].startswith("req_")
