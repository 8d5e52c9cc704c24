"""The retry budget: retries are paid from a bucket that every request refills a little.

The bucket holds at most ``burst`` tokens and starts full; each request adds ``ratio`` of a token
and each retry (a second round over a pool after a backoff, not a fail-over to another deployment)
takes a whole one. Over time retries stay under ``ratio`` per request, so when a provider is down
the gateway does not multiply the traffic it sends there.
"""

from __future__ import annotations

from switchgear.config.model import RetryBudgetSettings


class RetryBudget:
    __slots__ = ("burst", "ratio", "refused", "spent", "tokens")

    def __init__(self, settings: RetryBudgetSettings) -> None:
        self.ratio = settings.ratio
        self.burst = float(settings.burst)
        self.tokens = self.burst
        self.spent = 0
        self.refused = 0

    def deposit(self) -> None:
        tokens = self.tokens + self.ratio
        self.tokens = tokens if tokens < self.burst else self.burst

    def take(self) -> bool:
        if self.tokens >= 1:
            self.tokens -= 1
            self.spent += 1
            return True
        self.refused += 1
        return False
