"""Browser clients: CORS preflights and headers, off unless `server.cors` is configured."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchgear.config import ConfigError, parse_settings
from tests.fakes.gateway import GatewayThread

KEY = "sk-master-0123456789"
APP = "https://app.example.com"
CHAT = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
PREFLIGHT = {
    "origin": APP,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, x-stainless-os",
}


@pytest.fixture()
def with_cors(make_gateway: Any) -> GatewayThread:
    gateway: GatewayThread = make_gateway(master_key=KEY, cors={"allow_origins": [APP], "max_age": "1h"})
    return gateway


def test_a_preflight_is_answered_without_a_key(with_cors: GatewayThread) -> None:
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/models"):
        response = httpx.options(with_cors.url + path, headers=PREFLIGHT)
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == APP
        assert "POST" in response.headers["access-control-allow-methods"]
        assert response.headers["access-control-allow-headers"] == PREFLIGHT["access-control-request-headers"]
        assert response.headers["access-control-max-age"] == "3600"
        assert "origin" in response.headers["vary"]


def test_answers_to_an_allowed_origin_carry_the_cors_headers(with_cors: GatewayThread) -> None:
    auth = {"authorization": f"Bearer {KEY}", "origin": APP}
    answer = httpx.post(with_cors.url + "/v1/chat/completions", json=CHAT, headers=auth)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in answer.headers["access-control-expose-headers"]
    refused = httpx.post(with_cors.url + "/v1/chat/completions", json=CHAT, headers={"origin": APP})
    assert refused.status_code == 401  # the key is still required: CORS only lets the browser read it
    assert refused.headers["access-control-allow-origin"] == APP
    models = httpx.get(with_cors.url + "/v1/models/fast", headers=auth)
    assert models.status_code == 200 and models.headers["access-control-allow-origin"] == APP
    missing = httpx.get(with_cors.url + "/v1/nowhere", headers=auth)
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == APP


def test_another_origin_gets_no_cors_headers(with_cors: GatewayThread) -> None:
    other = {**PREFLIGHT, "origin": "https://evil.example"}
    preflight = httpx.options(with_cors.url + "/v1/chat/completions", headers=other)
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.json()["error"]["code"] == "cors_origin_not_allowed"
    answer = httpx.post(
        with_cors.url + "/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {KEY}", "origin": "https://evil.example"},
    )
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_any_origin_and_a_fixed_header_list(make_gateway: Any) -> None:
    gateway = make_gateway(cors={"allow_origins": ["*"], "allow_headers": ["Authorization", "Content-Type"]})
    preflight = httpx.options(gateway.url + "/v1/chat/completions", headers=PREFLIGHT)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
    answer = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"origin": "http://x.test"})
    assert answer.headers["access-control-allow-origin"] == "*"


def test_without_cors_a_preflight_is_405_and_answers_carry_no_cors_headers(gateway: GatewayThread) -> None:
    preflight = httpx.options(gateway.url + "/v1/chat/completions", headers=PREFLIGHT)
    assert preflight.status_code == 405
    assert "server.cors" in preflight.json()["error"]["message"]
    answer = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, headers={"origin": APP})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        ({"allow_origins": []}, "server.cors.allow_origins: List should have at least 1 item"),
        ({"allow_origins": ["app.example.com"]}, "an origin is '*' or scheme://host[:port] without a path"),
        ({"allow_origins": ["https://a.example/path"]}, "an origin is '*' or scheme://host[:port]"),
    ],
)
def test_bad_cors_settings(cors: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"server": {"cors": cors}}, {})
    assert message in str(caught.value)
