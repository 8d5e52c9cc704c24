"""A tiny HTTP/1.1 origin on loopback for transport tests: answers every request with a fixed
JSON body after an optional delay, records each request head, counts connections and how many
are open at once, and can close each connection after its answer (to force new connections)."""

from __future__ import annotations

import asyncio
import contextlib

ANSWER = b'{"ok":true}'


class Origin:
    def __init__(self, *, delay: float = 0.0, close: bool = False, host: str = "127.0.0.1") -> None:
        self.delay = delay
        self.close = close
        self.host = host
        self.heads: list[bytes] = []
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> Origin:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, host: str | None = None, path: str = "/v1/chat") -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if self.delay:
                    await asyncio.sleep(self.delay)
                connection = b"Connection: close\r\n" if self.close else b""
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + connection
                    + b"Content-Length: %d\r\n\r\n" % len(ANSWER)
                    + ANSWER
                )
                await writer.drain()
                if self.close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            with contextlib.suppress(Exception):
                writer.close()
            self._tasks.discard(task)
