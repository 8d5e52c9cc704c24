"""The settings of a Bedrock provider: its region and AWS credentials.

The Runtime endpoint is per region (``https://bedrock-runtime.{region}.amazonaws.com``) unless
the provider gives its own ``base_url`` (a VPC endpoint, a proxy, the simulator); the region is
also the SigV4 signing region. A provider authenticates with ``aws_access_key_id`` +
``aws_secret_access_key`` (+ ``aws_session_token`` for temporary credentials), signed with SigV4,
or with ``api_key``, a Bedrock API key sent as ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import SecretStr, model_validator

from switchgear.providers.settings import FamilySettings, empty_is

DEFAULT_REGION = "us-east-1"


def base_url_for(region: str) -> str:
    """The Bedrock Runtime endpoint of ``region``."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


class BedrockSettings(FamilySettings):
    region: Annotated[str, empty_is(DEFAULT_REGION)] = DEFAULT_REGION
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None

    @model_validator(mode="after")
    def _credentials(self) -> BedrockSettings:
        if not self.api_key and not (self.aws_access_key_id and self.aws_secret_access_key):
            raise ValueError(
                "bedrock needs aws_access_key_id and aws_secret_access_key (or api_key, a Bedrock API key)"
            )
        return self

    def default_base_url(self) -> str:
        return base_url_for(self.region)
