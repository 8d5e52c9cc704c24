"""Name lookups for new upstream connections, off the event loop, each answer reused for a while.

``Resolver.resolve(host)`` asks the loop's ``getaddrinfo`` (which runs in the loop's executor, so
the loop never blocks) and keeps the answer for ``ttl`` seconds: a burst of new connections to one
provider costs one lookup, and concurrent lookups of one name share it. IP literals are never
looked up. A failed lookup is not remembered. The addresses keep the resolver's order, except
that one that connected when an earlier one failed moves to the front (``prefer``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

Address = tuple[int, str]  # address family, address


class Resolver:
    __slots__ = ("_answers", "_pending", "_ttl", "lookups", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, ttl: float) -> None:
        self.loop = loop
        self._ttl = ttl
        self._answers: dict[str, tuple[float, list[Address]]] = {}  # host -> (expires at, addresses)
        self._pending: dict[str, asyncio.Task[list[Address]]] = {}
        self.lookups = 0  # getaddrinfo calls made (for tests and diagnostics)

    async def resolve(self, host: str) -> list[Address]:
        """The addresses of ``host`` (socket.gaierror when it has none)."""
        found = self._answers.get(host)
        if found is not None and found[0] > self.loop.time():
            return found[1]
        lookup = self._pending.get(host)
        if lookup is None:
            literal = _literal(host)
            if literal is not None:
                self._answers[host] = (float("inf"), [literal])
                return [literal]
            lookup = self._pending[host] = self.loop.create_task(self._lookup(host))
            lookup.add_done_callback(_retrieve)
        # A caller that gives up (cancelled, deadline) leaves the lookup running for the others.
        return await asyncio.shield(lookup)

    async def _lookup(self, host: str) -> list[Address]:
        try:
            self.lookups += 1
            infos = await self.loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys((int(family), str(sockaddr[0])) for family, *_, sockaddr in infos))
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "no address for this name")
            if self._ttl > 0:
                self._answers[host] = (self.loop.time() + self._ttl, addresses)
            return addresses
        finally:
            del self._pending[host]

    def prefer(self, host: str, address: Address) -> None:
        """``address`` connected after an earlier one of ``host`` failed: try it first next time."""
        found = self._answers.get(host)
        if found is not None and address in found[1] and found[1][0] != address:
            found[1].remove(address)
            found[1].insert(0, address)


def _retrieve(task: asyncio.Task[list[Address]]) -> None:
    if not task.cancelled():
        task.exception()  # a failure every caller stopped waiting for is not an unhandled one


def _literal(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return (socket.AF_INET6 if address.version == 6 else socket.AF_INET, host)
