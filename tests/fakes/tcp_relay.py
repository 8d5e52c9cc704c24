"""A TCP relay on loopback in front of a real server (PostgreSQL), to make it unreachable at will.

``up``: connections are relayed both ways. ``down``: every relayed connection is cut and the port
refuses new ones (nothing listens, as when the database host is gone). ``hang``: the port accepts
connections and never answers (a database that stopped responding). The same port throughout, so
a client configured with it sees the server go away and come back. ``delay`` (seconds, settable at
any time) holds every chunk from the server that long before it reaches the client: a slow network
or a slow deployment, made fast again without a restart. Threads, not the event loop: the gateway
under test runs its own loop in another thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Literal

Mode = Literal["up", "down", "hang"]


class TcpRelay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "down"
        self.delay = 0.0
        # seconds to hold each response (drawn once per request), e.g. a slow tail; None: none
        self.per_request: Callable[[], float] | None = None
        self.aborted = 0  # held responses whose client closed the connection first
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def up(self) -> None:
        self._set("up")

    def down(self) -> None:
        self._set("down")

    def hang(self) -> None:
        self._set("hang")

    def _set(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()
            if mode == "down":
                self._close_listener()
            elif self._listener is None:
                self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                self._conns.append(client)
                if self.mode != "up":
                    continue  # hang: held open, never answered
                try:
                    server = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                server.settimeout(None)
                self._conns.append(server)
            link = _Link()
            threading.Thread(target=self._pump, args=(client, server, False, link), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True, link), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, delayed: bool, link: _Link) -> None:
        try:
            while data := source.recv(65536):
                if delayed:
                    self._hold(link)
                elif self.per_request is not None and not link.asked:
                    link.asked, link.hold = True, self.per_request()
                sink.sendall(data)
            if not delayed and link.hold:  # the client left while its answer was held
                with self._lock:
                    self.aborted += 1
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _hold(self, link: _Link) -> None:
        if link.hold:
            time.sleep(link.hold)
        link.hold, link.asked = 0.0, False
        if self.delay:
            time.sleep(self.delay)

    def close(self) -> None:
        self.down()


class _Link:
    """One relayed connection's request in flight: whether it was seen, how long its answer is held
    (until the hold is over)."""

    __slots__ = ("asked", "hold")

    def __init__(self) -> None:
        self.asked = False
        self.hold = 0.0
