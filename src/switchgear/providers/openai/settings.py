"""The settings of an Azure OpenAI provider: the ``api-version`` its URLs carry.

Azure serves ``{base_url}/openai/deployments/{deployment}/...?api-version=...``; ``api_version``
defaults to the latest generally available version the adapter is tested against. Every other
OpenAI-compatible vendor takes the common settings only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import field_validator

from switchgear.providers.settings import FamilySettings

AZURE_DEFAULT_API_VERSION = "2024-10-21"


class AzureSettings(FamilySettings):
    api_version: str = AZURE_DEFAULT_API_VERSION

    @field_validator("api_version", mode="before")
    @classmethod
    def _unquoted_date(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value  # YAML reads 2024-10-21 as a date

    @field_validator("api_version")
    @classmethod
    def _default_version(cls, value: str) -> str:
        return value or AZURE_DEFAULT_API_VERSION  # an empty value (an unset ${VERSION:-}) is the default
