"""Sliding logs: the exact rolling-window rate limits of the memory backend.

Each admitted request is an entry (its admission time and amount: 1 for a request limit, its
tokens for a token limit). An entry counts while it is younger than the window: the window ending
at ``now`` is ``(now - w, now]``. A request is admitted only if the entries still counted plus its
own amount fit the limit, so every rolling window of length ``w`` holds at most ``limit`` (for
tokens: at the amounts known when each request was admitted; a settle may raise an entry to its
actual count, which then shortens what later requests get, as docs/state.md states).

A window of a minute at thousands of requests a second holds hundreds of thousands of entries, so
they are kept as plain integers in deques (no object per entry for the garbage collector to walk):
``CountLog`` for request limits holds only times; ``SlidingLog`` for token limits holds times and
amounts, and finds an entry to settle by its sequence number (only reservations not yet settled
are indexed by id).
"""

from __future__ import annotations

from collections import deque


class CountLog:
    """A request limit's log: one entry per admitted request."""

    __slots__ = ("_times", "window_us")

    def __init__(self, window_us: int) -> None:
        self.window_us = window_us
        self._times: deque[int] = deque()

    @property
    def total(self) -> int:
        return len(self._times)

    def trim(self, now_us: int) -> None:
        """Forget the entries the window ending at ``now_us`` no longer holds."""
        horizon = now_us - self.window_us
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()

    def add(self, now_us: int, id_: str, amount: int = 1) -> None:
        self._times.append(now_us)

    def settle(self, id_: str, amount: int) -> None:
        """A request counts once, whatever it used."""

    def forget_settled(self) -> None:
        return None

    def wait_us(self, now_us: int, limit: int, need: int) -> int | None:
        """How long until ``need`` more fits under ``limit``; None if it never will."""
        if need > limit:
            return None
        excess = len(self._times) + need - limit
        if excess <= 0:
            return 0
        return max(0, self._times[excess - 1] + self.window_us - now_us)

    def reset_us(self, now_us: int) -> int:
        """Until the window lets go of its newest entry (OpenAI's "time until the limit resets")."""
        if not self._times:
            return 0
        return max(0, self._times[-1] + self.window_us - now_us)

    def __bool__(self) -> bool:
        return bool(self._times)


class SlidingLog:
    """A token limit's log: entries weighted by their amounts, settled to actual amounts."""

    __slots__ = ("_amounts", "_first", "_open", "_times", "total", "window_us")

    def __init__(self, window_us: int) -> None:
        self.window_us = window_us
        self._times: deque[int] = deque()
        self._amounts: deque[int] = deque()
        self._first = 0  # the sequence number of the oldest entry held
        self._open: dict[str, int] = {}  # reservation id -> sequence number, until it is settled
        self.total = 0

    def trim(self, now_us: int) -> None:
        """Forget the entries the window ending at ``now_us`` no longer holds."""
        horizon = now_us - self.window_us
        times, amounts = self._times, self._amounts
        dropped = 0
        while times and times[0] <= horizon:
            times.popleft()
            self.total -= amounts.popleft()
            dropped += 1
        self._first += dropped

    def add(self, now_us: int, id_: str, amount: int) -> None:
        self._open[id_] = self._first + len(self._times)
        self._times.append(now_us)
        self._amounts.append(amount)
        self.total += amount

    def settle(self, id_: str, amount: int) -> None:
        """Replace an entry's estimate with its actual amount, if the window still holds it."""
        sequence = self._open.pop(id_, None)
        if sequence is None or sequence < self._first:
            return
        index = sequence - self._first
        amounts = self._amounts
        self.total += amount - amounts[index]
        amounts[index] = amount

    def forget_settled(self) -> None:
        """Drop the ids of entries the window no longer holds (reservations never settled)."""
        first = self._first
        for id_ in [id_ for id_, sequence in self._open.items() if sequence < first]:
            del self._open[id_]

    def wait_us(self, now_us: int, limit: int, need: int) -> int | None:
        """How long until ``need`` more fits under ``limit``; None if it never will."""
        if need > limit:
            return None
        excess = self.total + need - limit
        if excess <= 0:
            return 0
        for t, amount in zip(self._times, self._amounts, strict=True):
            excess -= amount
            if excess <= 0:
                return max(0, t + self.window_us - now_us)
        return None

    def reset_us(self, now_us: int) -> int:
        """Until the window lets go of its newest entry (OpenAI's "time until the limit resets")."""
        if not self._times:
            return 0
        return max(0, self._times[-1] + self.window_us - now_us)

    def __bool__(self) -> bool:
        return bool(self._times)
