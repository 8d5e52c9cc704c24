"""The hop count that ends request loops (a provider whose base_url leads back to a gateway).

Every upstream request carries ``x-switchgear-hop: n+1``, where n is the count on the client
request being served (0 when it has none). A request arriving with a count past
``server.max_hops`` is refused with 508 Loop Detected before its body is read, so a loop ends
after a few hops instead of multiplying requests until the connection pool is exhausted.

The count travels the way trace context does: ``admit`` (called by the server once per request,
in the request's task) stores the outgoing value in a context variable, and the transport reads
it when it writes any upstream request, so neither the pipeline nor any provider family passes
it along. A request without the header costs one header lookup; the variable is left at its
default (``"1"``), which is also what requests the gateway makes on its own carry.
"""

from __future__ import annotations

from contextvars import ContextVar

from switchgear.core.errors import InvalidRequest, LoopDetected

HEADER = "x-switchgear-hop"
HEADER_BYTES = HEADER.encode()
_NEXT: ContextVar[str] = ContextVar("switchgear_next_hop", default="1")
_DIGITS = 6  # more digits than that is a loop whatever the limit


def admit(value: bytes | None, limit: int) -> None:
    """Check an incoming hop count (the header's raw value) against ``limit``; remember count + 1."""
    if value is None:
        return
    value = value.strip()
    if not value.isdigit():
        raise InvalidRequest(f"{HEADER} must be a whole number of hops, got {value[:20]!r}", param=HEADER)
    if len(value) > _DIGITS or int(value) > limit:
        raise LoopDetected(
            f"request loop detected: {HEADER} is {value[: _DIGITS + 1].decode()}, past server.max_hops "
            f"({limit}); a provider's base_url probably points back at a switchgear gateway"
        )
    _NEXT.set(str(int(value) + 1))


def next_hop() -> str:
    """The ``x-switchgear-hop`` value for an upstream request sent now."""
    return _NEXT.get()
