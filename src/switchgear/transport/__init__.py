"""The shared outbound HTTP client (pooled keep-alive connections, deadlines) and SSE framing."""

from switchgear.transport.client import HttpClient, HttpRequest, UpstreamResponse
from switchgear.transport.sse import SSESplitter

__all__ = ["HttpClient", "HttpRequest", "SSESplitter", "UpstreamResponse"]
