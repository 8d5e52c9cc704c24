"""A weighted sliding log: the exact rolling-window rate limit of the memory backend.

Each admitted request is an entry (admission time, reservation id, amount: 1 for a request limit,
its tokens for a token limit). An entry counts while it is younger than the window: the window
ending at ``now`` is ``(now - w, now]``. A request is admitted only if the entries still counted
plus its own amount fit the limit, so every rolling window of length ``w`` holds at most ``limit``
(for tokens: at the amounts known when each request was admitted; a settle may raise an entry to its
actual count, which then shortens what later requests get, as docs/state.md states).
"""

from __future__ import annotations

from collections import deque


class _Entry:
    __slots__ = ("amount", "id", "t")

    def __init__(self, t: int, id_: str, amount: int) -> None:
        self.t = t
        self.id = id_
        self.amount = amount


class SlidingLog:
    __slots__ = ("_by_id", "_entries", "total", "window_us")

    def __init__(self, window_us: int) -> None:
        self.window_us = window_us
        self._entries: deque[_Entry] = deque()
        self._by_id: dict[str, _Entry] = {}
        self.total = 0

    def trim(self, now_us: int) -> None:
        """Forget the entries the window ending at ``now_us`` no longer holds."""
        horizon = now_us - self.window_us
        entries = self._entries
        while entries and entries[0].t <= horizon:
            entry = entries.popleft()
            self.total -= entry.amount
            del self._by_id[entry.id]

    def add(self, now_us: int, id_: str, amount: int) -> None:
        entry = _Entry(now_us, id_, amount)
        self._entries.append(entry)
        self._by_id[id_] = entry
        self.total += amount

    def settle(self, id_: str, amount: int) -> None:
        """Replace an entry's estimate with its actual amount, if the window still holds it."""
        entry = self._by_id.get(id_)
        if entry is not None:
            self.total += amount - entry.amount
            entry.amount = amount

    def wait_us(self, now_us: int, limit: int, need: int) -> int | None:
        """How long until ``need`` more fits under ``limit``; None if it never will."""
        if need > limit:
            return None
        excess = self.total + need - limit
        for entry in self._entries:
            if excess <= 0:
                break
            excess -= entry.amount
            if excess <= 0:
                return max(0, entry.t + self.window_us - now_us)
        return 0 if excess <= 0 else None

    def reset_us(self, now_us: int) -> int:
        """Until the window lets go of its newest entry (OpenAI's "time until the limit resets")."""
        if not self._entries:
            return 0
        return max(0, self._entries[-1].t + self.window_us - now_us)

    def __bool__(self) -> bool:
        return bool(self._entries)
