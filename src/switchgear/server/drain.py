"""Stopping a server process gracefully on SIGTERM / SIGINT.

1. Readiness (``/health/ready``) answers 503 at once while the listener stays open, so a load
   balancer takes the process out of rotation without anyone meeting a closed port; connections
   are told to close after their current response.
2. Requests in flight, streams included, get up to ``server.drain_timeout`` to finish.
3. The listener closes. Streams still open then end with an in-band error event in their
   client's format; requests still waiting for an answer get a 503; anything left after a short
   grace is cancelled.
4. The exit status says whether the drain was clean (``EXIT_DRAIN_CUT`` when anything was cut).

A second Ctrl-C skips the waiting.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from switchgear.server.app import App
from switchgear.server.limits import ConnectionGate, GuardedHttpToolsProtocol

log = logging.getLogger("switchgear.server")

EXIT_DRAIN_CUT = 4
"""The exit status of a process whose drain had to cut requests at ``server.drain_timeout``."""

CUT_GRACE = 2.0  # seconds for ended streams and 503 answers to be written before cancelling


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: App, gate: ConnectionGate, drain_timeout: float) -> None:
        super().__init__(config)
        self.app = app
        self.gate = gate
        self.drain_timeout = drain_timeout
        self.cut = 0  # requests still open at the drain deadline
        self.ignore_sigint = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn re-raises the captured signal after shutting down, which would replace the exit
        # status with "killed by SIGTERM"; here the status is the drain's verdict instead.
        if sig == signal.SIGINT and self.ignore_sigint:
            return
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        state = self.server_state
        self.app.ready = False
        self.gate.draining = True
        for connection in list(state.connections):
            if isinstance(connection, GuardedHttpToolsProtocol):
                connection.drain()
            else:
                connection.shutdown()
        if state.tasks:
            log.info(
                "draining %d request(s) for up to %gs (server.drain_timeout)",
                len(state.tasks),
                self.drain_timeout,
            )
        deadline = loop.time() + self.drain_timeout
        # uvicorn's task set has no "became empty" event: poll it, as uvicorn's own shutdown does.
        while state.tasks and loop.time() < deadline and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(state.connections):
            connection.shutdown()
        self.cut = len(state.tasks)
        if self.cut:
            streams = self.app.streams.end_all()
            log.warning(
                "drain timeout: %d open stream(s) end with an error event, %d other request(s) with a 503",
                len(streams),
                self.cut - len(streams),
            )
            self.app.cutting = True
            for task in list(state.tasks):
                if task not in streams:
                    task.cancel()
            await _wait(lambda: not state.tasks, CUT_GRACE, self)
            for task in list(state.tasks):
                task.cancel()
        await _wait(lambda: not state.connections, CUT_GRACE, self)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


async def _wait(done: Callable[[], bool], seconds: float, server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not done() and loop.time() < deadline and not server.force_exit:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
