"""The change feed of a process that serves no requests (the ``switchgear keys`` command).

Such a process has no key directory of its own to update, so there is nothing to apply locally.
Gateways see its changes at their next refresh (``governance.refresh_interval``).
"""

from __future__ import annotations

from switchgear.config import Settings
from switchgear.keys.changes import Change, ChangeFeed


class OfflineFeed:
    """Applies nothing and tells nobody: the gateways' periodic refresh picks the change up. Keeps
    what was published (the command reports it)."""

    def __init__(self) -> None:
        self.published: list[Change] = []

    async def publish(self, change: Change) -> None:
        self.published.append(change)


def cli_feed(settings: Settings) -> ChangeFeed:
    """The feed for a command-line change.

    Integration point: with ``storage.redis_url`` set, this is to return the publisher of the
    gateways' Redis change feed, so running gateways hear the change at once. Until that feed is
    part of the build, changes reach them at their next refresh."""
    del settings
    return OfflineFeed()
