"""The settings of a Bedrock provider: its region and where its AWS credentials come from.

The Runtime endpoint is per region (``https://bedrock-runtime.{region}.amazonaws.com``) unless
the provider gives its own ``base_url`` (a VPC endpoint, a proxy, the simulator); the region is
also the SigV4 signing region. A provider authenticates with, in this order of precedence:
``api_key``, a Bedrock API key sent as ``Authorization: Bearer``; static keys
``aws_access_key_id`` + ``aws_secret_access_key`` (+ ``aws_session_token``), signed with SigV4;
else the AWS credential chain (``credentials.AwsCredentialChain``: environment, ``profile``, web
identity, SSO, container and instance metadata), which needs botocore (``switchgear[bedrock]``).
``from_environment`` offers a provider from the well-known ``AWS_*`` variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import SecretStr, model_validator

from switchgear.providers.bedrock.credentials import EXTRA, AwsCredentialChain, chain_installed
from switchgear.providers.settings import CredentialSource, FamilySettings, empty_is

DEFAULT_REGION = "us-east-1"
# Variables that say the AWS credential chain has something to find (besides the static keys).
_CHAIN_MARKERS = (
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def base_url_for(region: str) -> str:
    """The Bedrock Runtime endpoint of ``region``."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


class BedrockSettings(FamilySettings):
    region: Annotated[str, empty_is(DEFAULT_REGION)] = DEFAULT_REGION
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    profile: str | None = None  # a profile of the shared config/credentials files (the chain)

    @model_validator(mode="after")
    def _credentials(self) -> BedrockSettings:
        static = self.aws_access_key_id or self.aws_secret_access_key
        if static and not (self.aws_access_key_id and self.aws_secret_access_key):
            raise ValueError("bedrock needs both aws_access_key_id and aws_secret_access_key, or neither")
        if self.profile and (static or self.api_key):
            given = "aws_access_key_id" if static else "api_key"
            raise ValueError(f"bedrock takes profile or {given}, not both")
        if not static and not self.api_key and not chain_installed():
            wanted = f"profile {self.profile!r} needs" if self.profile else "without them,"
            raise ValueError(
                "bedrock has no aws_access_key_id and aws_secret_access_key (or api_key, a Bedrock "
                f"API key); {wanted} the AWS credential chain (environment, profiles, web identity, "
                f"SSO, container and instance metadata), which needs botocore: {EXTRA}"
            )
        return self

    def default_base_url(self) -> str:
        return base_url_for(self.region)

    def token_source(self, provider: str) -> CredentialSource | None:
        if self.api_key or self.aws_access_key_id:
            return None  # signed with the settings' own keys: nothing to find or refresh
        return AwsCredentialChain(profile=self.profile, region=self.region, provider=provider)

    def describe_credentials(self) -> str:
        if self.api_key:
            return "Bedrock API key in config"
        return "static keys in config"


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    """A Bedrock provider's settings from ``AWS_*`` variables, and a line for the start-up log
    (None, None: nothing AWS-related is set)."""
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    keys = environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY")
    api_key = environ.get("AWS_BEARER_TOKEN_BEDROCK")  # a Bedrock API key, as the AWS SDKs read it
    markers = [name for name in _CHAIN_MARKERS if environ.get(name)]
    conf: dict[str, Any] = {"type": "bedrock"}
    if region:
        conf["region"] = region
    if environ.get("BEDROCK_BASE_URL"):
        conf["base_url"] = environ["BEDROCK_BASE_URL"]
    where = f"region {region}" if region else f"region {DEFAULT_REGION} (set AWS_REGION to change it)"
    if api_key:
        return {**conf, "api_key": api_key}, f"found AWS_BEARER_TOKEN_BEDROCK, {where}"
    if chain_installed():
        found = (["AWS_ACCESS_KEY_ID"] if keys else []) + markers
        if not found and not region:
            return None, None
        what = ", ".join(found) if found else "AWS_REGION"
        return conf, f"found {what}, {where}; credentials from the AWS credential chain"
    if keys:
        conf["aws_access_key_id"] = environ["AWS_ACCESS_KEY_ID"]
        conf["aws_secret_access_key"] = environ["AWS_SECRET_ACCESS_KEY"]
        if environ.get("AWS_SESSION_TOKEN"):
            conf["aws_session_token"] = environ["AWS_SESSION_TOKEN"]
        return conf, (
            f"found AWS_ACCESS_KEY_ID, {where}; static keys (for profiles, roles and refreshed "
            f"credentials: {EXTRA})"
        )
    if markers or region:
        what = ", ".join(markers) if markers else "AWS_REGION"
        return None, f"found {what} but the AWS credential chain needs botocore ({EXTRA}); skipped"
    return None, None
