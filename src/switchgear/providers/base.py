"""The provider adapter protocol and the runtime objects it works on.

An adapter is pure translation for one wire family: it builds the upstream ``HttpRequest``,
reads usage from answers, filters streams and maps upstream errors. It never opens a socket,
reads the environment or logs: I/O lives in ``transport`` and ``engine``. Vendors that share a
wire family differ only by their ``Profile`` (base URL, auth header, parameter quirks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Protocol

from switchgear.catalog import ModelInfo
from switchgear.catalog.costs import Pricer, pricer
from switchgear.config.model import Timeouts
from switchgear.core.errors import GatewayError, UpstreamError
from switchgear.core.types import ChatRequest, ChatResponse, StreamEvent
from switchgear.core.usage import Usage
from switchgear.providers.settings import CredentialSource, FamilySettings
from switchgear.transport.client import HttpRequest
from switchgear.transport.network import Network

Endpoint = Literal["chat", "completions", "embeddings", "messages", "responses", "count_tokens"]


@dataclass(frozen=True, slots=True)
class Profile:
    """What distinguishes one vendor of a wire family from another: data, not code."""

    name: str
    family: str
    title: str
    base_url: str | None  # None: the user must give one (Azure)
    env_key: str | None = None  # environment variable holding the API key, for discovery
    auth: Literal["bearer", "api-key", "none"] = "bearer"
    url_style: Literal["openai", "azure"] = "openai"
    key_required: bool = True
    max_completion_tokens: bool = True  # False: send max_tokens instead
    stream_usage: bool = True  # accepts stream_options.include_usage
    embeddings_base64: bool = False  # accepts encoding_format=base64
    responses_api: bool = False  # serves POST /responses (else Responses requests are translated to chat)
    drop_params: frozenset[str] = frozenset()  # parameters the vendor rejects
    settings: type[FamilySettings] = FamilySettings  # its providers' settings model (keys beyond the common)
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Provider:
    """A configured provider: a named set of credentials and an endpoint."""

    name: str
    profile: Profile
    adapter: Adapter
    base_url: str
    api_key: str | None = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    timeouts: Timeouts
    # Its validated settings, as its family's model (``profile.settings``): ``BedrockSettings``
    # (region, AWS credentials), ``VertexSettings`` (project, location), ``AzureSettings``
    # (api_version), or the common ``FamilySettings``. The adapter reads its own keys from it.
    settings: FamilySettings = field(repr=False)
    # Credentials found or minted at run time (Vertex access tokens, the AWS credential chain):
    # started with the server, awaited before each upstream request (fresh then), the token handed
    # to ``build_request(..., access_token=...)``; the Bedrock adapter reads its keys from it.
    token_source: CredentialSource | None = field(default=None, repr=False)
    # How its origins are reached (proxy, TLS), built at start-up; None: the client's default.
    network: Network | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Deployment:
    """One concrete model at one provider; what a request is finally sent to."""

    provider: Provider
    model: str
    weight: int = 1
    info: ModelInfo | None = None
    rpm: int | None = None  # the requests and tokens per minute it takes (``routing: usage``)
    tpm: int | None = None
    # this deployment's attempt deadlines (model and deployment settings over the provider's);
    # None: the provider's
    timeouts: Timeouts | None = field(default=None, compare=False, repr=False)
    # Prices a usage at ``info``'s prices (the catalog's, config overrides laid over them), made
    # once here; None when it has no input or output price.
    price: Pricer | None = field(init=False, default=None, compare=False, repr=False)
    label: str = field(init=False, default="", compare=False)  # "provider/model", its health's key

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", pricer(self.info.prices if self.info is not None else None))
        object.__setattr__(self, "label", f"{self.provider.name}/{self.model}")


class StreamRelay(Protocol):
    """Filters one upstream stream on its way to the client and records what passed."""

    done: bool
    events: int
    failed: GatewayError | None  # how the stream ended if not well: an in-band upstream error, a cut

    @property
    def usage(self) -> Usage | None:
        """The latest usage the stream reported."""
        ...

    def feed(self, data: bytes) -> bytes:
        """Upstream bytes in; the bytes to forward to the client out (possibly b"")."""
        ...

    def finish(self) -> bytes:
        """The upstream ended; bytes to close the client's stream with (an error event if cut)."""
        ...

    def error(self, exc: GatewayError) -> bytes:
        """An in-band error event for a failure after the first byte (recorded in ``failed``)."""
        ...


class StreamDecoder(Protocol):
    """Turns one upstream stream into canonical events, incrementally (see ``core.types``)."""

    usage: Usage | None  # the latest usage the stream reported

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Upstream bytes in (any split); the events now complete out. Raises UpstreamError on
        garbage or an in-band error event."""
        ...

    def finish(self) -> list[StreamEvent]:
        """The upstream body ended: remaining events; raises UpstreamProtocolError if it was cut."""
        ...


class Adapter(Protocol):
    """One wire family. Same-family requests pass through (``build_passthrough`` ...); others
    are translated through the canonical types (``build_request`` ...)."""

    family: str
    passthrough_endpoints: frozenset[str]  # inbound APIs this family can take unchanged

    def passes_through(self, api: str, deployment: Deployment) -> bool:
        """Whether a request of client API ``api`` goes to ``deployment`` unchanged (same family)."""
        ...

    def build_request(self, request: ChatRequest, deployment: Deployment) -> HttpRequest:
        """The upstream request for a canonical chat request (streaming when ``request.stream``).
        Raises InvalidRequest for what the family cannot express (say what and why)."""
        ...

    def parse_response(self, raw: bytes, deployment: Deployment) -> ChatResponse:
        """A successful non-streamed answer as a canonical response; UpstreamProtocolError on garbage."""
        ...

    def stream_decoder(self, deployment: Deployment) -> StreamDecoder: ...

    def build_passthrough(
        self,
        endpoint: Endpoint,
        body: dict[str, Any],
        deployment: Deployment,
        *,
        want_usage: bool,
        client_headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
    ) -> HttpRequest:
        """The upstream request for a same-family client body (only the model and usage options
        change); ``client_headers`` are the client's headers the family understands; ``raw`` is
        the client's body as sent, when nothing but the model needs to change in it."""
        ...

    def read_answer(
        self, endpoint: Endpoint, client_body: dict[str, Any], raw: bytes, deployment: Deployment
    ) -> tuple[bytes, Usage]:
        """Check a successful non-streamed answer and read its usage; returns the bytes for the client."""
        ...

    def stream_relay(
        self, deployment: Deployment, *, client_wants_usage: bool, endpoint: Endpoint = "chat"
    ) -> StreamRelay: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamError:
        """An upstream HTTP error answer as a gateway error."""
        ...


class TranslatedOnly:
    """The passthrough half of ``Adapter`` for families no client API shares (every request is
    translated): ``passes_through`` is always false, so the engine never calls the rest."""

    passthrough_endpoints: frozenset[str] = frozenset()

    def passes_through(self, api: str, deployment: Deployment) -> bool:
        return False

    def _no_passthrough(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(f"{type(self).__name__} has no passthrough")

    build_passthrough = read_answer = stream_relay = _no_passthrough
