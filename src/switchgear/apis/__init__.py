"""The client-facing APIs: one package per API a client speaks to the gateway.

``openai/`` (Chat Completions, legacy Completions, Embeddings), ``anthropic/`` (Messages) and
``responses/`` (the OpenAI Responses API). Each decodes the client's request into the canonical
form and encodes canonical answers, stream events and errors back into the client's format.
They meet the provider families (``providers/``) only in the canonical types of ``core`` and in
the engine; neither package imports the other.
"""

from switchgear.apis.base import InboundCodec, StreamEncoder
from switchgear.apis.registry import codecs

__all__ = ["InboundCodec", "StreamEncoder", "codecs"]
