"""The OpenAI Responses client API (``POST /v1/responses``), stateless."""

from switchgear.apis.responses.codec import ResponsesCodec

__all__ = ["ResponsesCodec"]
