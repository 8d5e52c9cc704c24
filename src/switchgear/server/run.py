"""Running the server: one process, or a supervisor forking N workers that share one socket.

The listening socket is bound once by the parent (the "listening" banner follows the bind); each
worker builds its own runtime (event loop, HTTP pool) from the same frozen settings after the
fork. SIGINT/SIGTERM drain every worker (see ``drain``); the exit status says whether the drain
was clean: 0, or ``EXIT_DRAIN_CUT`` when requests were cut at ``server.drain_timeout`` (1 when a
worker failed).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

import uvicorn

from switchgear.config.model import Settings
from switchgear.observability.multiprocess import SharedMetrics, share_metrics
from switchgear.server.app import App, build_app
from switchgear.server.drain import EXIT_DRAIN_CUT, DrainingServer
from switchgear.server.exposure import assess
from switchgear.server.limits import (
    ConnectionGate,
    ConnectionLimits,
    GuardedHttpToolsProtocol,
    default_max_connections,
    protocol_class,
)

log = logging.getLogger("switchgear.server")

__all__ = ["EXIT_DRAIN_CUT", "RefusedToStart", "bind", "serve", "uvicorn_config"]


class RefusedToStart(Exception):
    """The settings would expose the gateway unsafely (see ``exposure``); the message says why."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: accepted connections inherit it, and asyncio's event loop sets TCP_NODELAY
    # only on sockets that say TCP (uvloop always does). Without it, on asyncio, a response written
    # as headers then body waited for the client's delayed ACK: 40 ms per keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(4096)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def connection_limits(settings: Settings) -> ConnectionLimits:
    server = settings.server
    max_connections = server.max_connections or default_max_connections(settings.upstream.max_connections)
    return ConnectionLimits(server.max_header_size, server.header_timeout, max_connections)


def uvicorn_config(app: App, log_level: str, protocol: type[GuardedHttpToolsProtocol]) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=protocol,
        ws="none",
        lifespan="on",
        access_log=False,  # switchgear's own access log is a settle stage
        log_config=None,  # logging is configured once, in switchgear's format (observability.logs)
        server_header=False,
        proxy_headers=False,
        log_level=log_level,
        backlog=4096,
    )


def _run(
    settings: Settings, sock: socket.socket, log_level: str, limits: ConnectionLimits, worker: bool
) -> int:
    """Serve on ``sock`` in this process until stopped; the exit status."""
    app = build_app(settings)
    gate = ConnectionGate()
    config = uvicorn_config(app, log_level, protocol_class(limits, gate))
    server = DrainingServer(config, app, gate, settings.server.drain_timeout)
    server.ignore_sigint = worker  # the supervisor turns Ctrl-C into SIGTERM
    server.run(sockets=[sock])
    if not server.started:
        return 1
    return EXIT_DRAIN_CUT if server.cut else 0


def _worker(settings: Settings, sock: socket.socket, log_level: str, limits: ConnectionLimits) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(_run(settings, sock, log_level, limits, worker=True))


def serve(settings: Settings, log_level: str = "info", announce: Callable[[str], None] | None = None) -> int:
    """Serve until interrupted (blocks); the exit status. ``announce`` gets the URL once bound.

    Raises RefusedToStart for an unsafe exposure and OSError when the address cannot be bound.
    """
    refusals = assess(settings).errors
    if refusals:
        raise RefusedToStart("; ".join(refusals))
    limits = connection_limits(settings)
    sock = bind(settings.server.host, settings.server.port)
    if announce is not None:
        host, port = sock.getsockname()[:2]
        announce(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
    workers = settings.server.workers
    if workers == 1:
        try:
            return _run(settings, sock, log_level, limits, worker=False)
        finally:
            sock.close()
    metrics = settings.observability.metrics
    shared: SharedMetrics | None = share_metrics(metrics.multiprocess_dir) if metrics.enabled else None
    try:
        return _supervise(settings, sock, log_level, limits, shared=shared)
    finally:
        if shared is not None:
            shared.close()


def _supervise(
    settings: Settings,
    sock: socket.socket,
    log_level: str,
    limits: ConnectionLimits,
    *,
    shared: SharedMetrics | None,
) -> int:
    """Fork the workers (they share the socket and, when on, the metrics directory), wait for them."""
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(
            target=_worker,
            args=(settings, sock, log_level, limits),
            name=f"switchgear-worker-{i}",
            daemon=False,
        )
        for i in range(settings.server.workers)
    ]
    for process in processes:
        process.start()

    def stop(signum: int, frame: FrameType | None) -> None:
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
        if shared is not None and process.pid is not None:
            shared.worker_exited(process.pid)
    sock.close()
    codes = [process.exitcode for process in processes]
    if any(code not in (0, EXIT_DRAIN_CUT) for code in codes):
        log.error("worker exit statuses: %s", codes)
        return 1
    return EXIT_DRAIN_CUT if EXIT_DRAIN_CUT in codes else 0
