"""AwsCredentialChain: botocore's credential chain against credential files and endpoints on loopback.

Each test points botocore at its own sources through the variables the AWS SDKs read (the shared
files, ``AWS_CONTAINER_CREDENTIALS_FULL_URI``, ``AWS_EC2_METADATA_SERVICE_ENDPOINT``,
``AWS_ENDPOINT_URL_STS``); the conftest keeps every other source empty and IMDS off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchgear.core.errors import UpstreamError
from switchgear.providers.bedrock.credentials import AwsCredentialChain, AwsKeys
from tests.fakes.aws import ROLE, CredentialEndpoints


@pytest.fixture
def endpoints() -> Iterator[CredentialEndpoints]:
    served = CredentialEndpoints().start()
    yield served
    served.stop()


def chain(profile: str | None = None, **kwargs: float) -> AwsCredentialChain:
    return AwsCredentialChain(profile=profile, region="us-east-1", provider="aws", **kwargs)


def shared_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    credentials, config = tmp_path / "credentials", tmp_path / "config"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n"
        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret\n"
        "aws_session_token = dev-token\n"
    )
    config.write_text(
        "[profile ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret\n"
        "[profile ci]\nrole_arn = arn:aws:iam::123456789012:role/ci\n"
        "web_identity_token_file = " + str(tmp_path / "token") + "\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return credentials, config


async def test_environment_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    source = chain()
    assert await source() == ""
    assert source.keys() == AwsKeys("AKIDENV", "env-secret", None)
    assert source.describe() == "environment AWS_ACCESS_KEY_ID"


async def test_profiles_from_the_shared_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials, config = shared_files(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")  # a named profile wins over the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    dev, ops = chain("dev"), chain("ops")
    await dev.start()
    await ops.start()
    assert dev.keys() == AwsKeys("AKIDDEV", "dev-secret", "dev-token")
    assert ops.keys() == AwsKeys("AKIDOPS", "ops-secret", None)
    assert dev.describe() == f"profile 'dev' from {credentials}"
    assert ops.describe() == f"profile 'ops' from {config}"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("AWS_PROFILE", "dev")  # no profile key: AWS_PROFILE, as the SDKs read it
    unnamed = chain()
    await unnamed()
    assert unnamed.keys().access_key == "AKIDDEV"


async def test_web_identity_through_sts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.service-account-token.sig")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/bedrock")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", endpoints.url)
    source = chain()
    assert (
        source.describe()
        == "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::123456789012:role/bedrock)"
    )
    assert not endpoints.issues  # describing asks nothing of STS
    await source.start()
    issue = endpoints.issues[-1]
    assert source.keys() == AwsKeys(issue.access_key, issue.secret_key, issue.token)
    _, _, _, body = endpoints.requests[-1]
    assert "WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.service-account-token.sig" in body
    assert "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbedrock" in body


async def test_container_endpoint(monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoints.url + "/container")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-identity-token")
    source = chain()
    await source.start()
    issue = endpoints.issues[-1]
    assert (issue.source, source.keys()) == (
        "container",
        AwsKeys(issue.access_key, issue.secret_key, issue.token),
    )
    assert endpoints.requests[-1][2]["authorization"] == "pod-identity-token"
    assert source.describe() == "container credentials endpoint"


async def test_instance_metadata(monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoints.url + "/")
    source = chain()
    await source.start()
    issue = endpoints.issues[-1]
    assert (issue.source, source.keys().access_key) == ("imds", issue.access_key)
    paths = [(method, path) for method, path, _, _ in endpoints.requests]
    assert paths[:3] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", f"/latest/meta-data/iam/security-credentials/{ROLE}"),
    ]
    assert endpoints.requests[2][2]["x-aws-ec2-metadata-token"] == "imds-session-token-1"
    assert source.describe() == "instance metadata (IMDS)"


async def test_found_once_and_cached(monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoints.url + "/container")
    endpoints.delay = 0.2
    source = chain()
    await asyncio.gather(*(source() for _ in range(8)))  # concurrent first callers share one search
    for _ in range(100):
        await source()
    assert len(endpoints.issues) == 1


async def test_refreshed_in_the_background_before_expiry(
    monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints
) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoints.url + "/container")
    endpoints.lifetime = 15 * 60 + 2  # two seconds before the 15-minute refresh window
    source = chain()
    await source.start()
    first = source.keys()
    await asyncio.sleep(2.2)
    endpoints.lifetime, endpoints.delay = 3600, 0.5
    started = time.monotonic()
    await source()  # inside the window: a refresh starts, the caller does not wait for it
    assert time.monotonic() - started < 0.2
    assert source.keys() == first  # still valid, still used
    await asyncio.sleep(0.8)
    second = source.keys()
    assert second.access_key == endpoints.issues[-1].access_key != first.access_key
    assert len(endpoints.issues) == 2
    await source()
    assert len(endpoints.issues) == 2  # the new ones last an hour: nothing more to do


async def test_a_failed_refresh_keeps_the_current_credentials(
    monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoints.url + "/container")
    endpoints.lifetime = 15 * 60 + 1
    source = chain()
    await source.start()
    first = source.keys()
    await asyncio.sleep(1.2)
    endpoints.status = 503
    with caplog.at_level(logging.WARNING, logger="botocore"):
        await source()
        await asyncio.sleep(0.3)
    assert source.keys() == first
    assert len(endpoints.requests) == 2


async def test_no_credentials_is_a_clear_upstream_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = chain("dev")
    with pytest.raises(UpstreamError) as caught:
        await source()
    assert caught.value.code == "provider_credentials"
    assert "The config profile (dev) could not be found" in caught.value.message
    shared_files(tmp_path, monkeypatch)
    nothing = chain()
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    with pytest.raises(UpstreamError) as caught:
        await nothing()
    assert caught.value.message.startswith("provider 'aws': no AWS credentials found (tried the environment")
    assert nothing.describe().startswith("no AWS credentials found")
    started = time.monotonic()
    with pytest.raises(UpstreamError):
        await nothing()  # the failure is held for a few seconds: no search per request
    assert time.monotonic() - started < 0.05


async def test_a_slow_source_times_out(
    monkeypatch: pytest.MonkeyPatch, endpoints: CredentialEndpoints
) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoints.url + "/container")
    endpoints.delay = 0.5
    source = chain(timeout=0.1)
    with pytest.raises(UpstreamError) as caught:
        await source()
    assert caught.value.code == "timeout"
    assert "took over 0.1s" in caught.value.message


def test_secrets_never_in_the_repr() -> None:
    keys = AwsKeys("AKIDSHOWN", "the-secret", "the-token")
    assert "the-secret" not in repr(keys) and "the-token" not in repr(keys)
