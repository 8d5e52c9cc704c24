"""The gateway as a user runs it: `switchgear serve` in a child process, on a real port.

For what only a real process shows: its memory (``/proc``), its signals and its exit status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.gateway import closed_port

CLI = [sys.executable, "-m", "switchgear.cli"]


class ServedGateway:
    def __init__(self, config: Mapping[str, Any], *args: str) -> None:
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        server = {"port": self.port, **config.get("server", {})}
        self._dir = tempfile.TemporaryDirectory()
        path = Path(self._dir.name) / "switchgear.yaml"
        path.write_text(json.dumps({**config, "server": server}))  # JSON is YAML
        self._stderr = open(Path(self._dir.name) / "stderr.log", "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [*CLI, "serve", "--config", str(path), "--log-level", "warning", *args],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.returncode: int | None = None
        self._log: str | None = None

    def start(self, seconds: float = 20) -> ServedGateway:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.process.returncode}: {self.stderr()}")
            try:
                if httpx.get(self.url + "/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the gateway did not come up: {self.stderr()}")

    def stderr(self) -> str:
        """What the gateway wrote to stderr so far (all of it once stopped)."""
        if self._log is not None:
            return self._log
        self._stderr.flush()
        return Path(self._stderr.name).read_text()

    def memory_kb(self, field: str = "VmRSS") -> int:
        """A ``/proc/<pid>/status`` memory field of the gateway process, in kB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        self.returncode = self.process.wait(timeout=timeout)
        return self.returncode

    def stop(self) -> int:
        if self._log is not None:
            return self.process.returncode
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.wait(10)
        self.returncode = self.process.returncode
        self._log = self.stderr()
        self._stderr.close()
        self._dir.cleanup()
        return self.returncode

    def __enter__(self) -> ServedGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
