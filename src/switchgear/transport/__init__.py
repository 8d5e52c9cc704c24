"""The shared outbound HTTP client (pooled connections, deadlines, proxies, TLS) and SSE framing."""

from switchgear.transport.client import HttpClient, HttpRequest, UpstreamResponse
from switchgear.transport.network import Network, Networks
from switchgear.transport.sse import SSESplitter

__all__ = ["HttpClient", "HttpRequest", "Network", "Networks", "SSESplitter", "UpstreamResponse"]
