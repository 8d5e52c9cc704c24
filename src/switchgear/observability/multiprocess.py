"""Metrics shared by worker processes: one directory per run of ``switchgear serve --workers N``.

prometheus-client's multi-process mode keeps each worker's series in memory-mapped files named by
its process id, and a scrape answered by any worker sums the files of all of them. The library
reads the directory from the environment variable ``PROMETHEUS_MULTIPROC_DIR`` when a series is
made, so the supervisor sets it once, before the workers fork (the one place switchgear writes an
environment variable: it is this library's only way in), empties the directory first (stale files
of an earlier run would be summed too), tells the library of the dead workers, and removes a
directory it made itself when the run ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import multiprocess, values

ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True, slots=True)
class SharedMetrics:
    directory: str
    made: bool  # made by this run (removed at its end)

    def worker_exited(self, pid: int) -> None:
        """Drop a dead worker's live gauges (in-flight, queue depths) from the sums."""
        multiprocess.mark_process_dead(pid, self.directory)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self.made:
            shutil.rmtree(self.directory, ignore_errors=True)


def share_metrics(configured: str | None) -> SharedMetrics:
    """Prepare this run's directory (``configured``, emptied, or a new temporary one) and switch
    prometheus-client to multi-process mode for the workers about to fork."""
    if configured is not None:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        shared = SharedMetrics(str(path), made=False)
    else:
        shared = SharedMetrics(tempfile.mkdtemp(prefix="switchgear-metrics-"), made=True)
    os.environ[ENV] = shared.directory
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return shared


def shared_directory() -> str | None:
    """This worker's multi-process metrics directory, or None when its series live in memory."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        return None
    return os.environ.get(ENV)
