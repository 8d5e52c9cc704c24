"""The OpenAI wire family: OpenAI itself and every OpenAI-compatible vendor, as data profiles."""

from switchgear.providers.openai.adapter import OpenAIAdapter
from switchgear.providers.openai.profiles import PROFILES

__all__ = ["PROFILES", "OpenAIAdapter"]
