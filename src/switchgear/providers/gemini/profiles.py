"""The Google vendors of the Gemini wire family as data: the Gemini API and Vertex AI.

Both speak ``generateContent`` / ``streamGenerateContent?alt=sse`` with the same bodies; they
differ in URL shape, auth and a few accepted fields, which ``GeminiProfile`` records. The Gemini
API (``generativelanguage.googleapis.com``, ``v1beta``) takes an API key in ``x-goog-api-key``
(never ``?key=``: URLs end up in logs). Vertex AI has no fixed base URL: it is derived from the
provider's ``location`` (``settings.VertexSettings``) unless the provider gives its own, and it
authenticates with an OAuth access token as ``Authorization: Bearer`` (the provider's ``api_key``,
or a token minted from ``credentials_file`` by ``credentials.ServiceAccountTokens``). Vertex
``v1`` rejects ``id`` on ``functionCall`` / ``functionResponse`` parts, so ids are not sent there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from switchgear.providers.base import Profile
from switchgear.providers.gemini.settings import VertexSettings

API_KEY_HEADER = "x-goog-api-key"  # the header of profile auth "api-key" in this family


@dataclass(frozen=True, slots=True)
class GeminiProfile(Profile):
    """A Gemini-family vendor: ``api`` picks the URL shape, ``function_ids`` whether call ids are sent."""

    api: Literal["gemini", "vertex"] = "gemini"
    function_ids: bool = True


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        GeminiProfile(
            "gemini",
            family="gemini",
            title="Google Gemini",
            base_url="https://generativelanguage.googleapis.com",
            env_key="GEMINI_API_KEY",
            auth="api-key",
            notes="base_url is the bare server address; requests go to {base_url}/v1beta/models/{model}",
        ),
        GeminiProfile(
            "vertex",
            family="gemini",
            title="Google Vertex AI",
            base_url=None,
            env_key=None,
            auth="bearer",
            key_required=False,
            api="vertex",
            function_ids=False,
            settings=VertexSettings,
            notes=(
                "project (required) and location (default global); base_url defaults to "
                "https://{location}-aiplatform.googleapis.com; api_key is an OAuth access token, or "
                "credentials_file names a service-account JSON file the gateway mints tokens from"
            ),
        ),
    ]
}
