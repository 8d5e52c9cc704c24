"""The settings of an Azure OpenAI provider: the ``api-version`` its URLs carry.

Azure serves ``{base_url}/openai/deployments/{deployment}/...?api-version=...``; ``api_version``
defaults to the latest generally available version the adapter is tested against. Every other
OpenAI-compatible vendor takes the common settings only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import field_validator

from switchgear.providers.settings import FamilySettings, empty_is

AZURE_DEFAULT_API_VERSION = "2024-10-21"


class AzureSettings(FamilySettings):
    api_version: Annotated[str, empty_is(AZURE_DEFAULT_API_VERSION)] = AZURE_DEFAULT_API_VERSION

    @field_validator("api_version", mode="before")
    @classmethod
    def _unquoted_date(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value  # YAML reads 2024-10-21 as a date
