"""The Gemini wire family: Google's Gemini API and Vertex AI (``generateContent``), as data profiles."""

from switchgear.providers.gemini.adapter import GeminiAdapter
from switchgear.providers.gemini.profiles import PROFILES, GeminiProfile
from switchgear.providers.gemini.settings import VertexSettings, vertex_base_url
from switchgear.providers.gemini.stream import GeminiStreamDecoder

__all__ = [
    "PROFILES",
    "GeminiAdapter",
    "GeminiProfile",
    "GeminiStreamDecoder",
    "VertexSettings",
    "vertex_base_url",
]
