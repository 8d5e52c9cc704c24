"""The spend log's bounded buffer: rows waiting to be written, in arrival order.

The bound counts every row not yet written, the batch being written included. When it is
reached, ``drop_new`` drops the arriving row and ``drop_old`` the oldest row waiting (never one of
the batch being written, whose fate is not known yet; when all the held rows are in that batch
the arriving row goes instead). A batch whose write failed goes back to the front, in order, to be
written first when the database returns. Every drop is counted.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from switchgear.storage import SpendRow

Overflow = Literal["drop_new", "drop_old"]


class SpendBuffer:
    def __init__(self, bound: int, overflow: Overflow) -> None:
        if bound < 1:
            raise ValueError("the spend log buffer holds at least one row")
        self.bound = bound
        self.overflow = overflow
        self.dropped = 0
        self._rows: deque[SpendRow] = deque()
        self._taken = 0  # rows of the batch being written

    def __len__(self) -> int:
        """Rows not yet written, the batch being written included."""
        return len(self._rows) + self._taken

    @property
    def waiting(self) -> int:
        """Rows waiting for a batch (not being written)."""
        return len(self._rows)

    def add(self, row: SpendRow) -> bool:
        """Hold ``row``; False when the bound made something drop (``row`` or the oldest row)."""
        if len(self) < self.bound:
            self._rows.append(row)
            return True
        self.dropped += 1
        if self.overflow == "drop_old" and self._rows:
            self._rows.popleft()
            self._rows.append(row)
        return False

    def take(self, size: int) -> list[SpendRow]:
        """The oldest ``size`` rows (fewer when fewer wait), now being written. One batch at a time."""
        if self._taken:
            raise RuntimeError("a batch is already being written")
        rows = self._rows
        batch = [rows.popleft() for _ in range(min(size, len(rows)))]
        self._taken = len(batch)
        return batch

    def written(self) -> None:
        """The batch taken is stored."""
        self._taken = 0

    def put_back(self, batch: list[SpendRow]) -> None:
        """The batch taken was not stored: it goes back to the front, to be written first."""
        self._taken = 0
        self._rows.extendleft(reversed(batch))

    def clear(self) -> int:
        """Forget every waiting row (counted as dropped); how many there were."""
        count = len(self._rows)
        self._rows.clear()
        self.dropped += count
        return count
