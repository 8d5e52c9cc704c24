"""Running the server: one process, or a supervisor forking N workers that share one socket.

The listening socket is bound once by the parent; each worker builds its own runtime (event
loop, HTTP pool) from the same frozen settings after the fork. SIGINT/SIGTERM stop the workers,
which drain open requests for up to ``server.drain_timeout``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
from types import FrameType

import uvicorn

from switchgear.config.model import Settings
from switchgear.server.app import build_app

log = logging.getLogger("switchgear.server")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(settings: Settings, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        build_app(settings),
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,  # switchgear's own access log is a settle stage
        log_config=None,  # logging is configured once, in switchgear's format (observability.logs)
        server_header=False,
        proxy_headers=False,
        log_level=log_level,
        timeout_graceful_shutdown=int(settings.server.drain_timeout),
        backlog=4096,
    )


class _WorkerServer(uvicorn.Server):
    """A worker's server: the supervisor turns Ctrl-C into SIGTERM, so SIGINT is ignored (uvicorn
    installs its own handlers, and a SIGINT after SIGTERM would force an exit without draining)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGINT:
            super().handle_exit(sig, frame)


def _worker(settings: Settings, sock: socket.socket, log_level: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor turns Ctrl-C into SIGTERM
    _WorkerServer(uvicorn_config(settings, log_level)).run(sockets=[sock])


def serve(settings: Settings, log_level: str = "info") -> None:
    """Serve until interrupted. Blocks."""
    sock = bind(settings.server.host, settings.server.port)
    workers = settings.server.workers
    if workers == 1:
        uvicorn.Server(uvicorn_config(settings, log_level)).run(sockets=[sock])
        return
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(
            target=_worker, args=(settings, sock, log_level), name=f"switchgear-worker-{i}", daemon=False
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
    sock.close()
    failed = [p for p in processes if p.exitcode not in (0, -signal.SIGTERM)]
    if failed and not stopping:
        raise SystemExit(1)
