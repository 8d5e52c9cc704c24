"""A Bedrock provider offered from the AWS_* variables the AWS SDKs read (``from_environment``)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from switchgear.config import parse_settings
from switchgear.providers import PROVIDER_SETTINGS, build_providers, discover_from_env
from switchgear.providers.bedrock.settings import from_environment

KEYS = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-canary-secret"}


@pytest.fixture
def without_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the switchgear[bedrock] extra were not installed (``import botocore`` fails)."""
    monkeypatch.setitem(sys.modules, "botocore", None)


@pytest.mark.parametrize(
    ("environ", "conf", "note"),
    [
        ({}, None, None),
        ({"AWS_CA_BUNDLE": "/etc/ca.pem"}, None, None),
        (
            KEYS,
            {"type": "bedrock"},  # the chain reads them: the summary says so, refreshes work
            "found AWS_ACCESS_KEY_ID, region us-east-1 (set AWS_REGION to change it); "
            "credentials from the AWS credential chain",
        ),
        (
            {"AWS_DEFAULT_REGION": "ap-south-1"},
            {"type": "bedrock", "region": "ap-south-1"},
            "found AWS_REGION, region ap-south-1; credentials from the AWS credential chain",
        ),
        (
            {"AWS_PROFILE": "dev", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"},
            {"type": "bedrock", "region": "eu-west-1"},
            "found AWS_PROFILE, region eu-west-1; credentials from the AWS credential chain",
        ),
        (
            {"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/b"},
            {"type": "bedrock"},
            "found AWS_WEB_IDENTITY_TOKEN_FILE, region us-east-1 (set AWS_REGION to change it); "
            "credentials from the AWS credential chain",
        ),
        (
            {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds", "BEDROCK_BASE_URL": "http://vpce:8080"},
            {"type": "bedrock", "base_url": "http://vpce:8080"},
            "found AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, region us-east-1 (set AWS_REGION to change it); "
            "credentials from the AWS credential chain",
        ),
        (
            {"AWS_BEARER_TOKEN_BEDROCK": "ABSK-canary", "AWS_REGION": "us-west-2"},
            {"type": "bedrock", "region": "us-west-2", "api_key": "ABSK-canary"},
            "found AWS_BEARER_TOKEN_BEDROCK, region us-west-2",
        ),
    ],
)
def test_discovered_from_the_aws_variables(
    environ: dict[str, str], conf: dict[str, Any] | None, note: str | None
) -> None:
    assert from_environment(environ) == (conf, note)


@pytest.mark.usefixtures("without_botocore")
def test_without_the_extra_static_keys_are_taken_and_the_rest_is_skipped() -> None:
    conf, note = from_environment({**KEYS, "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1"})
    assert conf == {
        "type": "bedrock",
        "region": "eu-west-1",
        "aws_access_key_id": "AKIDENV",
        "aws_secret_access_key": "env-canary-secret",
        "aws_session_token": "tok",
    }
    assert note == (
        "found AWS_ACCESS_KEY_ID, region eu-west-1; static keys (for profiles, roles and refreshed "
        "credentials: pip install 'switchgear[bedrock]')"
    )
    assert from_environment({"AWS_PROFILE": "dev"}) == (
        None,
        "found AWS_PROFILE but the AWS credential chain needs botocore "
        "(pip install 'switchgear[bedrock]'); skipped",
    )


def test_discovered_bedrock_is_a_provider_like_any_other() -> None:
    found, notes = discover_from_env({"AWS_REGION": "eu-west-1", "OPENAI_API_KEY": "sk-x"})
    assert set(found) == {"bedrock", "openai"}
    assert (
        "AWS Bedrock: found AWS_REGION, region eu-west-1; credentials from the AWS credential chain" in notes
    )
    providers = build_providers(parse_settings({"providers": found}, {}, PROVIDER_SETTINGS))
    assert providers["bedrock"].base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert providers["bedrock"].token_source is not None
