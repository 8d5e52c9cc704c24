"""The semantic index of a memory-backed cache, kept across restarts: written to
``cache.semantic.path`` when the gateway stops (each entry with its stored answer) and read back
when it starts (entries that expired meanwhile are left out; answers go back into the exact
cache's memory, so exact repeats hit too).

The file is a NumPy ``.npz`` of plain arrays (vectors, answers' bytes and a JSON table), read
with ``allow_pickle=False``: it holds no code. A file that cannot be read is logged and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import numpy as np
import orjson

from switchgear.cache.backends import Backend
from switchgear.cache.semantic.embedder import Vectors
from switchgear.cache.semantic.guard import features
from switchgear.cache.semantic.index import IndexEntry, VectorIndex

log = logging.getLogger("switchgear.cache")


async def save_index(path: str, index: VectorIndex, backend: Backend) -> int:
    """Every live entry whose answer is still held, written atomically; returns how many."""
    now = time.time()
    table: list[list[object]] = []
    vectors: list[Vectors] = []
    blobs: list[bytes] = []
    for entry in index.entries():
        if entry.expires <= now:
            continue
        blob = await backend.get(entry.id)
        if blob is None:
            continue
        table.append([entry.id, entry.partition, entry.text, entry.expires])
        vectors.append(entry.vector)
        blobs.append(blob)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        sizes = np.array([len(b) for b in blobs], dtype=np.int64)
        with temporary.open("wb") as out:
            np.savez(
                out,
                vectors=np.array(vectors, dtype=np.float32).reshape(len(vectors), -1),
                table=np.frombuffer(orjson.dumps(table), dtype=np.uint8),
                sizes=sizes,
                blobs=np.frombuffer(b"".join(blobs), dtype=np.uint8),
            )
        os.replace(temporary, target)
    except OSError as exc:
        log.warning("semantic cache: could not write %s: %s", path, exc)
        return 0
    return len(table)


async def load_index(path: str, index: VectorIndex, backend: Backend) -> int:
    """The entries saved at ``path`` that have not expired, back in the index and the backend."""
    if not Path(path).is_file():  # noqa: ASYNC240 (once, at start)
        return 0
    try:
        with np.load(path, allow_pickle=False) as saved:
            vectors = saved["vectors"].astype(np.float32)
            table = orjson.loads(saved["table"].tobytes())
            sizes = saved["sizes"]
            blobs = saved["blobs"].tobytes()
    except (OSError, ValueError, KeyError, orjson.JSONDecodeError) as exc:
        log.warning("semantic cache: could not read %s (ignored): %s", path, exc)
        return 0
    now = time.time()
    offset = 0
    loaded = 0
    for row, (entry_id, partition, text, expires) in enumerate(table):
        size = int(sizes[row])
        blob = blobs[offset : offset + size]
        offset += size
        if expires <= now:
            continue
        await backend.put(entry_id, blob, expires - now)
        index.add(IndexEntry(entry_id, partition, text, features(text), float(expires), vectors[row]))
        loaded += 1
        if loaded % 1000 == 0:
            await asyncio.sleep(0)  # let the loop breathe while a large index comes back
    log.info("semantic cache: %d entries read back from %s", loaded, path)
    return loaded
