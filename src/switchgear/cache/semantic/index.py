"""The in-process vector index: entries in cells, each cell a small matrix searched exactly.

Every vector goes to the cell of its nearest centroid (``model/centroids.npy``, k-means over
sentence embeddings, made by ``tools/calibrate_semantic.py``); a lookup scans the ``probes``
cells whose centroids are nearest to the query, within the request's partition only (tenant,
namespace, model, system prompt, tools, parameters: ``text.partition_of``). Close neighbours
(cosine above ~0.8) share a probed cell almost always (the recall this costs is measured with the
rest: ``switchgear eval cache``), and 100,000 entries cost a few thousand dot products.

Entries hold their expiry (wall clock) and veto features; expired ones are dropped when met and
the oldest go first beyond ``max_entries``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from switchgear.cache.semantic.embedder import Vectors
from switchgear.cache.semantic.guard import Features, Vetoes

_FIRST = 16  # rows a new cell starts with (doubled when full)


@dataclass(slots=True)
class IndexEntry:
    id: str  # where the answer is stored (the backend's key)
    partition: str
    text: str
    features: Features
    expires: float  # wall clock
    vector: Vectors


class _Cell:
    __slots__ = ("count", "entries", "matrix")

    def __init__(self, dimensions: int) -> None:
        self.matrix = np.zeros((_FIRST, dimensions), dtype=np.float32)
        self.entries: list[IndexEntry] = []
        self.count = 0


@dataclass(slots=True)
class Found:
    entry: IndexEntry
    score: float


class VectorIndex:
    def __init__(self, centroids: Vectors | None, probes: int, max_entries: int) -> None:
        """``centroids`` None: one cell (an embedder with no centroids made for it)."""
        self.centroids = None if centroids is None else np.ascontiguousarray(centroids, dtype=np.float32)
        self.probes = 1 if centroids is None else max(1, min(probes, len(centroids)))
        self.max_entries = max_entries
        self._cells: dict[tuple[str, int], _Cell] = {}
        self._where: OrderedDict[str, tuple[str, int]] = OrderedDict()  # id → cell, oldest first

    def __len__(self) -> int:
        return len(self._where)

    def entries(self) -> list[IndexEntry]:
        return [entry for cell in self._cells.values() for entry in cell.entries[: cell.count]]

    def add(self, entry: IndexEntry) -> None:
        if entry.id in self._where:
            self.remove(entry.id)
        while len(self._where) >= self.max_entries:
            self.remove(next(iter(self._where)))
        cell_id = 0 if self.centroids is None else int(np.argmax(self.centroids @ entry.vector))
        key = (entry.partition, cell_id)
        cell = self._cells.get(key)
        dimensions = len(entry.vector)
        if cell is None:
            cell = self._cells[key] = _Cell(dimensions)
        if cell.count == len(cell.matrix):
            grown = np.zeros((2 * cell.count, dimensions), dtype=np.float32)
            grown[: cell.count] = cell.matrix
            cell.matrix = grown
        cell.matrix[cell.count] = entry.vector
        cell.entries.append(entry)
        cell.count += 1
        self._where[entry.id] = key

    def remove(self, entry_id: str) -> None:
        key = self._where.pop(entry_id, None)
        if key is None:
            return
        cell = self._cells[key]
        row = next(i for i in range(cell.count) if cell.entries[i].id == entry_id)
        last = cell.count - 1
        if row != last:  # the last row takes the freed place
            cell.matrix[row] = cell.matrix[last]
            cell.entries[row] = cell.entries[last]
        cell.entries.pop()
        cell.count = last
        if last == 0:
            del self._cells[key]

    def search(
        self, partition: str, vector: Vectors, threshold: float, vetoes: Vetoes, features: Features
    ) -> Found | None:
        """The closest live entry at ``threshold`` or above that no veto refuses, or None."""
        cells: Iterable[int]
        if self.centroids is None:
            cells = (0,)
        else:
            near = self.centroids @ vector
            probes = self.probes
            cells = np.argpartition(near, -probes)[-probes:] if probes < len(near) else range(len(near))
        now = time.time()
        best: Found | None = None
        expired: list[str] = []
        for cell_id in cells:
            cell = self._cells.get((partition, int(cell_id)))
            if cell is None or len(vector) != cell.matrix.shape[1]:
                continue
            scores = cell.matrix[: cell.count] @ vector
            for row in np.flatnonzero(scores >= threshold):
                score = float(scores[row])
                entry = cell.entries[row]
                if entry.expires <= now:
                    expired.append(entry.id)
                elif (best is None or score > best.score) and not vetoes.refuses(features, entry.features):
                    best = Found(entry, score)
        for entry_id in expired:
            self.remove(entry_id)
        return best
