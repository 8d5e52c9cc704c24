"""Sign-in throttling for the admin UI: after ``limit`` refused sign-ins from one client address
within ``window`` seconds, further attempts from it are refused with 429 until the oldest failure
leaves the window. Per worker process and in memory (bounded); a successful sign-in does not
clear the count (an attacker holding one key must not be able to reset it)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

LIMIT = 10
WINDOW = 300.0
_MAX_CLIENTS = 10_000


class SignInThrottle:
    def __init__(
        self, limit: int = LIMIT, window: float = WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def wait(self, client: str) -> int:
        """Seconds this client must wait before trying again (0: it may try now)."""
        failures = self._failures.get(client)
        if failures is None:
            return 0
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return 0
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, client: str) -> None:
        failures = self._failures.get(client)
        if failures is None:
            if len(self._failures) >= _MAX_CLIENTS:  # many addresses at once: forget the oldest
                del self._failures[next(iter(self._failures))]
            failures = self._failures[client] = deque(maxlen=self.limit)
        failures.append(self.clock())
