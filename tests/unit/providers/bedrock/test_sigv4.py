"""SigV4 signing against botocore's own signer, with the clock pinned on both sides."""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import quote

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from switchgear.providers.bedrock.sigv4 import canonical_query, canonical_uri, host_header, sign

NOW = dt.datetime(2026, 3, 9, 23, 59, 58, tzinfo=dt.UTC)
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def botocore_authorization(
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    region: str,
    token: str | None,
    method: str = "POST",
) -> dict[str, str]:
    """Sign with botocore (the reference): its clock patched to NOW."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: NOW.replace(tzinfo=None))
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    credentials = botocore.credentials.Credentials(AKID, SECRET, token)
    botocore.auth.SigV4Auth(credentials, "bedrock", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


MODELS = [
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
    "mistral.mistral-large-2407-v1:0",
]
BODIES = [
    b"",
    b'{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}',
    '{"messages":[{"role":"user","content":[{"text":"Grüße ☀ ü"}]}]}'.encode(),
    b"x" * 70_000,
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body", BODIES, ids=["empty", "small", "utf8", "large"])
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////wEaDOZ+session/token=="])
@pytest.mark.parametrize("stream", [False, True])
def test_authorization_matches_botocore(
    monkeypatch: pytest.MonkeyPatch, model: str, body: bytes, token: str | None, stream: bool
) -> None:
    region = "us-west-2" if model.startswith("arn:") else "us-east-1"
    operation = "converse-stream" if stream else "converse"
    url = f"https://bedrock-runtime.{region}.amazonaws.com/model/{quote(model, safe='')}/{operation}"
    headers = {
        "content-type": "application/json",
        "accept": "application/vnd.amazon.eventstream" if stream else "application/json",
        "host": host_header(url),
    }
    ours = sign(
        "POST",
        url,
        headers,
        body,
        access_key=AKID,
        secret_key=SECRET,
        session_token=token,
        region=region,
        now=NOW,
    )
    reference = botocore_authorization(
        monkeypatch,
        url,
        {**headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
        body,
        region=region,
        token=token,
    )
    assert ours["authorization"] == reference["authorization"]
    assert ours["x-amz-date"] == reference["x-amz-date"] == "20260309T235958Z"
    assert ours["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert ours.get("x-amz-security-token") == reference.get("x-amz-security-token") == token
    expected_keys = {"authorization", "x-amz-date", "x-amz-content-sha256"} | (
        {"x-amz-security-token"} if token else set()
    )
    assert set(ours) == expected_keys


def test_authorization_shape() -> None:
    url = "https://bedrock-runtime.eu-west-3.amazonaws.com/model/m/converse"
    ours = sign(
        "POST",
        url,
        {"content-type": "application/json"},
        b"{}",
        access_key=AKID,
        secret_key=SECRET,
        region="eu-west-3",
        now=NOW,
    )
    credential, signed, signature = ours["authorization"].removeprefix("AWS4-HMAC-SHA256 ").split(", ")
    assert credential == f"Credential={AKID}/20260309/eu-west-3/bedrock/aws4_request"
    assert signed == "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date"
    assert len(signature.removeprefix("Signature=")) == 64


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("http://127.0.0.1:8123/model/anthropic.claude-v2%3A1/converse", {}),
        ("https://vpce-1234.bedrock-runtime.us-east-1.vpce.amazonaws.com:443/model/x/converse", {}),
        ("https://proxy.example.com/bedrock//model/./a%2Fb/converse", {"x-custom": "  two   spaces "}),
        ("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse?b=2&a=1&a=0", {}),
    ],
)
def test_unusual_urls_and_headers_match_botocore(
    monkeypatch: pytest.MonkeyPatch, url: str, extra: dict[str, str]
) -> None:
    body = b'{"messages":[]}'
    headers = {"content-type": "application/json", **extra}
    ours = sign("POST", url, headers, body, access_key=AKID, secret_key=SECRET, region="us-east-1", now=NOW)
    reference = botocore_authorization(
        monkeypatch,
        url,
        {**headers, "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
        body,
        region="us-east-1",
        token=None,
    )
    assert ours["authorization"] == reference["authorization"]


def test_hop_by_hop_headers_are_not_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"
    headers = {"content-type": "application/json", "user-agent": "switchgear/0.1", "Connection": "keep-alive"}
    ours = sign("POST", url, headers, b"{}", access_key=AKID, secret_key=SECRET, region="us-east-1", now=NOW)
    assert "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date," in ours["authorization"]
    reference = botocore_authorization(
        monkeypatch,
        url,
        {**headers, "X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()},
        b"{}",
        region="us-east-1",
        token=None,
    )
    assert ours["authorization"] == reference["authorization"]


def test_naive_time_is_utc_and_aware_time_is_converted() -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"
    paris = dt.timezone(dt.timedelta(hours=1))
    a = sign(
        "POST",
        url,
        {},
        b"",
        access_key=AKID,
        secret_key=SECRET,
        region="us-east-1",
        now=NOW.replace(tzinfo=None),
    )
    b = sign(
        "POST",
        url,
        {},
        b"",
        access_key=AKID,
        secret_key=SECRET,
        region="us-east-1",
        now=NOW.astimezone(paris),
    )
    assert a == b


def test_canonical_uri_encodes_the_encoded_path_again() -> None:
    assert canonical_uri("/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse") == (
        "/model/us.anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse"
    )
    assert canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A1%3Aprofile%2Fx/converse-stream") == (
        "/model/arn%253Aaws%253Abedrock%253Aus-west-2%253A1%253Aprofile%252Fx/converse-stream"
    )
    assert canonical_uri("") == "/"
    assert canonical_uri("/a//b/./c/../d/") == "/a/b/d/"


def test_canonical_query_and_host() -> None:
    assert canonical_query("b=2&a=1&a=0&c") == "a=0&a=1&b=2&c="
    assert (
        host_header("https://Bedrock-Runtime.us-east-1.amazonaws.com:443/x")
        == "bedrock-runtime.us-east-1.amazonaws.com"
    )
    assert host_header("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert host_header("http://[::1]:9/x") == "[::1]:9"
