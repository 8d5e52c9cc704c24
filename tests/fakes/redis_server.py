"""A real Redis for the tests: the one already running, or one of our own.

``SWITCHGEAR_TEST_REDIS_URL`` names a server to use. Otherwise a server answering on
127.0.0.1:6379 is used (database 15, every key under a per-test prefix that is deleted afterwards);
where none answers (a clean CI machine) ``redis-server`` is started on a free port with no
persistence and stopped at the end of the session. Only when there is no ``redis-server`` at all
are the Redis tests skipped, with that reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass
class RedisServer:
    url: str | None
    process: subprocess.Popen[bytes] | None = None
    reason: str = ""
    workdir: str | None = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _pings(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_or_start_redis() -> RedisServer:
    url = os.environ.get("SWITCHGEAR_TEST_REDIS_URL")
    if url:
        return RedisServer(url)
    if _pings("127.0.0.1", 6379):
        return RedisServer("redis://127.0.0.1:6379/15")
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "no Redis answers on 127.0.0.1:6379 and redis-server is not installed"
        return RedisServer(None, reason=reason)
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="sg-redis-")
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    process = subprocess.Popen(
        [binary, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _pings("127.0.0.1", port):
            return RedisServer(f"redis://127.0.0.1:{port}/0", process, workdir=workdir)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)
    return RedisServer(None, reason=f"redis-server did not start on port {port}")
