"""The AWS Bedrock vendor profile.

Bedrock has no fixed base URL: the endpoint is derived from the provider's region, and the
credentials are AWS keys or a Bedrock API key (``settings.BedrockSettings``); so no key is
required by the profile.
"""

from __future__ import annotations

from switchgear.providers.base import Profile
from switchgear.providers.bedrock.settings import BedrockSettings

PROFILES: dict[str, Profile] = {
    "bedrock": Profile(
        "bedrock",
        family="bedrock",
        title="AWS Bedrock",
        base_url=None,
        env_key=None,
        key_required=False,
        settings=BedrockSettings,
        notes=(
            "base_url defaults to https://bedrock-runtime.{region}.amazonaws.com; region defaults to "
            "us-east-1; credentials aws_access_key_id + aws_secret_access_key (+ aws_session_token), "
            "or api_key as a Bedrock API key"
        ),
    )
}
