"""The external guardrail: post the texts to an operator's service and obey its verdict.

The service gets ``{"guardrail", "direction", "texts": [{"role", "text"}]}`` and answers
``{"action": "allow" | "deny" | "flag", "types": {...}}``. Only the configured host (and those in
``allow_hosts``) can be reached, and every address a name resolves to is checked when the
connection is made (so a DNS answer cannot swap in another address later): loopback, private,
link-local (cloud metadata: 169.254.169.254, fd00:ec2::254), multicast and reserved addresses are
refused unless ``allow_private``. Any failure (refused address, timeout, bad answer) is an error,
and the stage fails closed on it unless the policy says ``on_error: allow``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from switchgear.config.guardrails import GuardrailSettings
from switchgear.guardrails.checks import Finding, Guard, GuardState
from switchgear.guardrails.texts import Piece


class AddressRefused(Exception):
    """The webhook's host is not allowed, or resolves to an address that is not."""


def address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not (ip.is_multicast or ip.is_unspecified)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


class CheckedResolver(AbstractResolver):
    """Resolves through the system, then refuses hosts and addresses the policy does not allow."""

    def __init__(self, hosts: frozenset[str], allow_private: bool) -> None:
        self.hosts = hosts
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.lower().rstrip(".") not in self.hosts:
            raise AddressRefused(f"host {host!r} is not in the guardrail's allowed hosts")
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        results: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = str(sockaddr[0])
            if not address_allowed(address, self.allow_private):
                raise AddressRefused(f"host {host!r} resolves to a private or reserved address")
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=int(sockaddr[1]),
                    family=fam,
                    proto=proto,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        if not results:
            raise AddressRefused(f"host {host!r} did not resolve")
        return results

    async def close(self) -> None:
        return None


class WebhookGuard(Guard):
    kind = "webhook"

    def __init__(self, settings: GuardrailSettings) -> None:
        super().__init__(settings)
        assert settings.url is not None
        self.url = settings.url
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"guardrail {self.name!r}: url must be http(s)://host/...")
        self.host = parts.hostname.lower()
        self.hosts = frozenset([self.host, *(h.lower() for h in settings.allow_hosts)])
        self.allow_private = settings.allow_private
        self.timeout = settings.timeout
        self._session: aiohttp.ClientSession | None = None

    def _check_literal(self) -> None:
        """An IP literal in the url does not go through the resolver: check it here."""
        try:
            ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            return
        if not address_allowed(self.host.strip("[]"), self.allow_private):
            raise AddressRefused(f"address {self.host!r} is private or reserved")

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=CheckedResolver(self.hosts, self.allow_private), use_dns_cache=False
            )
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def ask(self, direction: str, pieces: Sequence[Piece]) -> Finding:
        self._check_literal()
        payload = {
            "guardrail": self.name,
            "direction": direction,
            "texts": [{"role": p.role, "text": p.text} for p in pieces],
        }
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with self.session().post(
            self.url, json=payload, timeout=timeout, allow_redirects=False
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"the guardrail service answered HTTP {response.status}")
            verdict: Any = await response.json(content_type=None)
        if not isinstance(verdict, dict) or verdict.get("action") not in ("allow", "deny", "flag"):
            raise RuntimeError("the guardrail service's answer has no valid action")
        if verdict["action"] == "allow":
            return Finding()
        types = verdict.get("types")
        found = (
            {str(k)[:64]: int(v) for k, v in types.items() if isinstance(v, int)}
            if isinstance(types, dict)
            else {}
        )
        return Finding(found or {"WEBHOOK": 1})

    async def check_input(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        return await self.ask("input", pieces)

    async def check_output(self, pieces: Sequence[Piece], state: GuardState) -> Finding:
        return await self.ask("output", pieces)
