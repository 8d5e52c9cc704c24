"""The listening socket ``serve`` makes: its connections get TCP_NODELAY on asyncio's event loop too
(uvloop sets it on every TCP connection; asyncio only on sockets made with IPPROTO_TCP). Without it
a keep-alive response written as headers then body waited 40 ms for the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket

from switchgear.server.run import bind


async def test_accepted_connections_have_tcp_nodelay_on_the_asyncio_loop() -> None:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listening = bind("127.0.0.1", 0)
    server = await loop.create_server(Probe, sock=listening)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
        assert await asyncio.wait_for(seen, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
