"""The Anthropic vendor as data: base URL, key variable, auth header and API version.

Anthropic's own API is the only vendor of its wire family for now; Bedrock and Vertex serve
Claude through their own families. ``auth="api-key"`` means the ``x-api-key`` header here (the
OpenAI family reads the same value as Azure's ``api-key``): ``API_KEY_HEADER`` says so until
``Profile`` carries the header name itself.
"""

from __future__ import annotations

from switchgear.providers.base import Profile

ANTHROPIC_VERSION = "2023-06-01"  # sent when neither the provider's headers nor the client name one
API_KEY_HEADER = "x-api-key"  # the header of profile auth "api-key" in this family

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "anthropic",
            family="anthropic",
            title="Anthropic",
            base_url="https://api.anthropic.com",
            env_key="ANTHROPIC_API_KEY",
            auth="api-key",
            notes="base_url is the bare server address (the SDK's); requests go to {base_url}/v1/messages",
        ),
    ]
}
