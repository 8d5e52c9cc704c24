"""The Cohere wire family: Cohere's v2 chat API (``POST /v2/chat``), as a data profile."""

from switchgear.providers.cohere.adapter import CohereAdapter
from switchgear.providers.cohere.profiles import PROFILES
from switchgear.providers.cohere.stream import CohereStreamDecoder

__all__ = ["PROFILES", "CohereAdapter", "CohereStreamDecoder"]
