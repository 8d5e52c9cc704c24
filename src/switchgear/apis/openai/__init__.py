"""The OpenAI client APIs: Chat Completions (translated or checked for passthrough), legacy
Completions and Embeddings (checked for passthrough only)."""

from switchgear.apis.openai.codec import OpenAIChatCodec

__all__ = ["OpenAIChatCodec"]
