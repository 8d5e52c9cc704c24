"""Who can reach the gateway, and with what key: refuse to start an open relay or a guessable key.

A gateway holds the operator's provider keys, so anyone who can call it spends the operator's
money. On a loopback address only local users can reach it and a missing or weak key is a warning;
on any other address serving without a key needs ``server.allow_unauthenticated: true``, and a
master key that is a well-known default or too short and plain to resist guessing is refused.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field

from switchgear.config.model import Settings

MIN_KEY_BITS = 50
"""The least estimated entropy of a master key served beyond loopback. By this estimate
``openssl rand -hex 8`` (16 characters) gives about 55 bits, ``-hex 32`` about 250."""

# Keys that appear in documentation, tutorials and default configurations, compared ignoring case.
WELL_KNOWN_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changeit",
        "password",
        "password1",
        "passw0rd",
        "secret",
        "admin",
        "letmein",
        "default",
        "master",
        "masterkey",
        "master-key",
        "master_key",
        "test",
        "testing",
        "qwerty",
        "sk-1234",
        "sk-12345",
        "sk-123456",
        "sk-1234567890",
        "sk-master",
        "sk-master-key",
        "sk-admin",
        "sk-test",
        "sk-secret",
        "sk-changeme",
        "sk-xxx",
        "sk-xxxx",
        "your-master-key",
        "your_master_key",
        "your-api-key",
        "your_api_key",
        "sk-your-key",
        "sk-your-master-key",
    }
)


@dataclass(slots=True)
class Exposure:
    """The verdict on how the gateway would be exposed: refusals (do not start) and warnings."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything: treat it as reachable from outside


def key_bits(key: str) -> float:
    """A conservative entropy estimate: length times log2 of the variety actually used (distinct
    characters, at most the size of the character classes present)."""
    if not key:
        return 0.0
    pool = 0
    if any(c.islower() for c in key):
        pool += 26
    if any(c.isupper() for c in key):
        pool += 26
    if any(c.isdigit() for c in key):
        pool += 10
    if any(not c.isalnum() for c in key):
        pool += 32
    variety = min(pool, len(set(key)))
    return len(key) * math.log2(variety) if variety > 1 else 0.0


def weakness(key: str) -> str | None:
    """Why ``key`` is guessable, or None."""
    if key.lower() in WELL_KNOWN_KEYS:
        return "is a well-known default"
    bits = key_bits(key)
    if bits < MIN_KEY_BITS:
        return (
            f"is too short or too plain to resist guessing "
            f"(about {bits:.0f} bits of entropy, at least {MIN_KEY_BITS} needed)"
        )
    return None


def assess(settings: Settings) -> Exposure:
    """The exposure of ``settings.server``: what refuses the start and what deserves a warning."""
    server = settings.server
    verdict = Exposure()
    local = is_loopback(server.host)
    where = f"{server.host}:{server.port}"
    key = server.master_key.get_secret_value() if server.master_key else None
    if key is None:
        if local:
            verdict.warnings.append(
                f"requests are not authenticated: no server.master_key is set "
                f"(fine while only this machine can reach {where})"
            )
        elif server.allow_unauthenticated:
            verdict.warnings.append(
                f"requests are not authenticated on {where}: anyone who reaches this address uses the "
                "configured provider keys (server.allow_unauthenticated is true)"
            )
        else:
            verdict.errors.append(
                f"refusing to serve {where} without authentication: anyone who reaches it would use "
                "the configured provider keys. Set server.master_key (e.g. to the output of "
                "`openssl rand -hex 32`), listen on 127.0.0.1, or set "
                "server.allow_unauthenticated: true if a proxy in front authenticates"
            )
        return verdict
    reason = weakness(key)
    if reason is None:
        return verdict
    advice = "use a random key, e.g. the output of `openssl rand -hex 32`"
    if local:
        verdict.warnings.append(f"server.master_key {reason}; fine on loopback only: {advice}")
    else:
        verdict.errors.append(f"server.master_key {reason}: refusing to serve {where} with it; {advice}")
    return verdict
