"""BedrockAdapter.build_request: URL, headers, Bedrock API keys, and the SigV4 signature as
botocore computes it for the very request the adapter built."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from switchgear.core.errors import UpstreamError
from switchgear.core.types import ChatRequest, Message, TextPart
from switchgear.providers.bedrock import PROFILES, BedrockAdapter, BedrockSettings, base_url_for
from switchgear.transport.client import HttpRequest
from tests.unit.providers.bedrock.support import ADAPTER, AKID, NOW, SECRET, deployment

CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
REQUEST = ChatRequest(model="client", messages=[Message("user", [TextPart("Hi")])], max_tokens=64)
TOKEN = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJGMEQCIDtemporary=="


def resigned_by_botocore(
    monkeypatch: pytest.MonkeyPatch, request: HttpRequest, region: str, token: str | None
) -> str:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: NOW.replace(tzinfo=None))
    unsigned = {
        k: v
        for k, v in request.headers.items()
        if k not in ("authorization", "x-amz-date", "x-amz-security-token")
    }
    reference = botocore.awsrequest.AWSRequest(
        method=request.method, url=request.url, data=request.body, headers=unsigned
    )
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(AKID, SECRET, token), "bedrock", region
    ).add_auth(reference)
    return str(reference.headers["Authorization"])


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("token", [None, TOKEN])
def test_signed_request(monkeypatch: pytest.MonkeyPatch, stream: bool, token: str | None) -> None:
    request = ChatRequest(model="client", messages=REQUEST.messages, max_tokens=64, stream=stream)
    built = ADAPTER.build_request(request, deployment(CLAUDE, token=token, headers={"x-team": "ml"}))
    operation = "converse-stream" if stream else "converse"
    assert built.method == "POST"
    assert built.url == (
        f"https://bedrock-runtime.us-west-2.amazonaws.com/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/{operation}"
    )
    assert built.params == {}
    assert json.loads(built.body) == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "inferenceConfig": {"maxTokens": 64},
    }
    headers = dict(built.headers)
    authorization = headers.pop("authorization")
    expected = {
        "content-type": "application/json",
        "accept": "application/vnd.amazon.eventstream" if stream else "application/json",
        "x-team": "ml",
        "host": "bedrock-runtime.us-west-2.amazonaws.com",
        "x-amz-date": "20260309T120000Z",
        "x-amz-content-sha256": hashlib.sha256(built.body).hexdigest(),
    }
    if token:
        expected["x-amz-security-token"] = token
    assert headers == expected
    signed = (
        "accept;content-type;host;x-amz-content-sha256;x-amz-date"
        + (";x-amz-security-token" if token else "")
        + ";x-team"
    )
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential={AKID}/20260309/us-west-2/bedrock/aws4_request, "
        f"SignedHeaders={signed}, Signature="
    )
    assert authorization == resigned_by_botocore(monkeypatch, built, "us-west-2", token)


def test_arn_model_ids_are_encoded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = "arn:aws:bedrock:eu-central-1:123456789012:application-inference-profile/a1b2c3"
    built = ADAPTER.build_request(REQUEST, deployment(arn, region="eu-central-1"))
    assert built.url == (
        "https://bedrock-runtime.eu-central-1.amazonaws.com/model/"
        "arn%3Aaws%3Abedrock%3Aeu-central-1%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3/converse"
    )
    assert built.headers["authorization"] == resigned_by_botocore(monkeypatch, built, "eu-central-1", None)


def test_region_defaults_to_us_east_1() -> None:
    built = ADAPTER.build_request(REQUEST, deployment("meta.llama3-1-8b-instruct-v1:0", region=None))
    assert built.url.startswith("https://bedrock-runtime.us-east-1.amazonaws.com/model/")
    assert "/us-east-1/bedrock/aws4_request" in built.headers["authorization"]


def test_custom_base_url_keeps_the_signing_region(monkeypatch: pytest.MonkeyPatch) -> None:
    built = ADAPTER.build_request(
        REQUEST, deployment("m:1", base_url="http://127.0.0.1:9911/", region="ap-south-1")
    )
    assert built.url == "http://127.0.0.1:9911/model/m%3A1/converse"
    assert built.headers["host"] == "127.0.0.1:9911"
    assert built.headers["authorization"] == resigned_by_botocore(monkeypatch, built, "ap-south-1", None)


def test_bedrock_api_key_is_a_bearer_token_without_signature() -> None:
    built = ADAPTER.build_request(REQUEST, deployment(CLAUDE, api_key="ABSKQmVkcm9ja0FQSUtleS1example"))
    assert built.headers == {
        "content-type": "application/json",
        "accept": "application/json",
        "host": "bedrock-runtime.us-west-2.amazonaws.com",
        "authorization": "Bearer ABSKQmVkcm9ja0FQSUtleS1example",
    }


def test_missing_credentials_fail_over() -> None:
    target = deployment(CLAUDE)
    settings = target.provider.settings.model_copy(update={"aws_secret_access_key": None})
    bare = replace(target.provider, settings=settings)
    with pytest.raises(UpstreamError, match="has no credentials") as caught:
        ADAPTER.build_request(REQUEST, replace(target, provider=bare))
    assert caught.value.retryable
    assert SECRET not in caught.value.message


def test_default_clock_signs_with_the_current_time() -> None:
    built = BedrockAdapter().build_request(REQUEST, deployment(CLAUDE))
    assert built.headers["x-amz-date"].endswith("Z") and built.headers["x-amz-date"] != "20260309T120000Z"


def test_family_profile_and_messages_passthrough() -> None:
    assert ADAPTER.family == "bedrock"
    assert ADAPTER.passthrough_endpoints == frozenset({"messages"})  # Claude only (test_relay.py)
    profile = PROFILES["bedrock"]
    assert (profile.family, profile.title, profile.base_url, profile.env_key, profile.key_required) == (
        "bedrock",
        "AWS Bedrock",
        None,
        None,
        False,
    )
    assert profile.settings is BedrockSettings
    assert base_url_for("eu-west-1") == "https://bedrock-runtime.eu-west-1.amazonaws.com"
