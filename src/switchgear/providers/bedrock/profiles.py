"""The AWS Bedrock vendor profile and the endpoint derived from a provider's region.

Bedrock has no fixed base URL: the Runtime endpoint is per region
(``https://bedrock-runtime.{region}.amazonaws.com``), taken from ``Provider.options["region"]``
(default ``us-east-1``) unless the provider gives its own ``base_url`` (a VPC endpoint, a proxy,
the simulator). Credentials are the provider's ``credentials`` (``aws_access_key_id``,
``aws_secret_access_key``, optional ``aws_session_token``, signed with SigV4) or its ``api_key``
(a Bedrock API key, sent as ``Authorization: Bearer``); so no key is required by the profile.
"""

from __future__ import annotations

from collections.abc import Mapping

from switchgear.providers.base import Profile

DEFAULT_REGION = "us-east-1"

PROFILES: dict[str, Profile] = {
    "bedrock": Profile(
        "bedrock",
        family="bedrock",
        title="AWS Bedrock",
        base_url=None,
        env_key=None,
        key_required=False,
        notes=(
            "base_url defaults to https://bedrock-runtime.{region}.amazonaws.com; region defaults to "
            "us-east-1; credentials aws_access_key_id + aws_secret_access_key (+ aws_session_token), "
            "or api_key as a Bedrock API key"
        ),
    )
}


def region_of(options: Mapping[str, str]) -> str:
    """The signing region of a provider: its ``region`` option, else ``us-east-1``."""
    return options.get("region") or DEFAULT_REGION


def base_url_for(region: str) -> str:
    """The Bedrock Runtime endpoint of ``region``."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"
