"""A provider's settings as its family declares them, and what the registry asks of them.

Every family's settings model subclasses ``FamilySettings``: the keys common to all providers
(``config.ProviderSettings``: type, base_url, api_key, headers, timeouts) plus the family's own
(``bedrock/settings.py``, ``gemini/settings.py`` for Vertex, ``openai/settings.py`` for Azure). A
profile names its model (``Profile.settings``); families with no keys of their own use this one.
The registry calls the two hooks below the same way for every family, so it never asks which
family a provider belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import AfterValidator

from switchgear.config.model import ProviderSettings

TokenSource = Callable[[], Awaitable[str]]


def empty_is(default: str) -> AfterValidator:
    """For a key whose empty value (an unset ``${VAR:-}``) means its default:
    ``region: Annotated[str, empty_is(DEFAULT_REGION)] = DEFAULT_REGION``."""
    return AfterValidator(lambda value: value or default)


class FamilySettings(ProviderSettings):
    """The common provider settings; a family with keys of its own subclasses this."""

    def default_base_url(self) -> str | None:
        """The endpoint when neither the configuration nor the profile gives one (from a region...)."""
        return None

    def token_source(self, provider: str) -> TokenSource | None:
        """Short-lived access tokens minted at run time, if the settings ask for them. Raises
        ``ConfigError`` with a message that starts with the key at fault (``credentials_file: ...``)."""
        return None
