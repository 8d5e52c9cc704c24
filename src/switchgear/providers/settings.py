"""A provider's settings as its family declares them, and what the registry asks of them.

Every family's settings model subclasses ``FamilySettings``: the keys common to all providers
(``config.ProviderSettings``: type, base_url, api_key, headers, timeouts) plus the family's own
(``bedrock/settings.py``, ``gemini/settings.py`` for Vertex, ``openai/settings.py`` for Azure). A
profile names its model (``Profile.settings``); families with no keys of their own use this one.
The registry calls the hooks below the same way for every family, so it never asks which family a
provider belongs to. Credentials that are found or minted at run time (a cloud SDK's credential
chain, access tokens from a service account) are a ``CredentialSource`` the settings hand out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import AfterValidator

from switchgear.config.model import ProviderSettings


class CredentialSource(ABC):
    """A provider's credentials found or minted at run time, cached and refreshed before expiry.

    ``start`` resolves them once at start-up (every blocking call in a worker thread; a failure is
    logged and tried again on demand); awaiting the source before an upstream request makes sure
    they are fresh and returns an access token (or ``""`` for a source whose adapter reads the
    credentials from the source itself); ``describe`` says where they come from, never the secret.
    """

    @abstractmethod
    async def __call__(self) -> str:
        """Fresh credentials for the next request: the access token, or ``""``."""

    @abstractmethod
    async def start(self) -> None:
        """Resolve once at start-up (off the event loop)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop any refresh in flight."""

    @abstractmethod
    def describe(self) -> str:
        """Where the credentials come from (``instance metadata``, ``ADC: metadata server``...);
        may read files or ask a metadata endpoint, so for the command line only, never the loop."""


def empty_is(default: str) -> AfterValidator:
    """For a key whose empty value (an unset ``${VAR:-}``) means its default:
    ``region: Annotated[str, empty_is(DEFAULT_REGION)] = DEFAULT_REGION``."""
    return AfterValidator(lambda value: value or default)


class FamilySettings(ProviderSettings):
    """The common provider settings; a family with keys of its own subclasses this."""

    def default_base_url(self) -> str | None:
        """The endpoint when neither the configuration nor the profile gives one (from a region...)."""
        return None

    def token_source(self, provider: str) -> CredentialSource | None:
        """Credentials found or minted at run time, if the settings ask for them. Raises
        ``ConfigError`` with a message that starts with the key at fault (``credentials_file: ...``)."""
        return None

    def describe_credentials(self) -> str:
        """Where the credentials in the settings come from, when there is no run-time source."""
        return "key set" if self.api_key else "no key"
