"""The settings of a Vertex AI provider: project, location and where its access tokens come from.

Vertex has no fixed base URL: it is derived from ``location`` (``vertex_base_url``, as the
google-genai SDK derives it) unless the provider gives its own. A provider authenticates with an
OAuth access token: its ``api_key``; else one minted at run time (``credentials.GoogleTokens``)
from ``credentials_file``, a service-account JSON file; else from Application Default Credentials
(``GOOGLE_APPLICATION_CREDENTIALS``, the gcloud ADC file, the metadata server), as Google's own
SDKs find them. The Gemini API needs no keys beyond the common ones.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from switchgear.config.load import ConfigError
from switchgear.providers.gemini.credentials import EXTRA, GoogleTokens, google_auth_installed
from switchgear.providers.settings import CredentialSource, FamilySettings, empty_is

DEFAULT_LOCATION = "global"  # what the google-genai SDK picks when none is given
_MULTI_REGIONAL = frozenset({"us", "eu"})  # served from aiplatform.{us|eu}.rep.googleapis.com


def vertex_base_url(location: str) -> str:
    """The Vertex AI endpoint serving ``location`` (as the google-genai SDK derives it)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in _MULTI_REGIONAL:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class VertexSettings(FamilySettings):
    project: str = Field(default="", validate_default=True)
    location: Annotated[str, empty_is(DEFAULT_LOCATION)] = DEFAULT_LOCATION
    credentials_file: str | None = None  # service-account JSON (else api_key, else ADC)

    @field_validator("project")
    @classmethod
    def _required(cls, value: str) -> str:
        if not value:
            raise ValueError("required for type 'vertex'")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> VertexSettings:
        if not self.credentials_file and not self.api_key and not google_auth_installed():
            raise ValueError(
                "vertex has no credentials_file (a service account) or api_key (an access token); "
                f"without them, Application Default Credentials need google-auth: {EXTRA}"
            )
        return self

    def default_base_url(self) -> str:
        return vertex_base_url(self.location)

    def token_source(self, provider: str) -> CredentialSource | None:
        if self.api_key and not self.credentials_file:
            return None  # the configured access token
        try:
            return GoogleTokens(self.credentials_file, provider=provider)
        except ConfigError as exc:
            raise ConfigError(f"credentials_file: {exc}") from None

    def describe_credentials(self) -> str:
        return "access token in config"
