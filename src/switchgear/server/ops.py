"""Operations routes: ``/admin``, ``/metrics``, ``/ui`` and ``/docs`` mounted by prefix beside the
hot routes (``/docs`` leads to the admin API's documentation at ``/admin/docs``).

Each prefix maps to an ASGI app (a framework app is fine here: these routes are not on the
request hot path). The server looks here only for paths its hot-route table does not know, so
the model APIs pay nothing for them; no hot route starts with these prefixes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from switchgear.server.asgi import Receive, Scope, Send, respond

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PREFIXES = ("/admin", "/metrics", "/ui", "/docs", "/health/deployments")


class Operations:
    def __init__(self, mounts: Mapping[str, ASGIApp]) -> None:
        unknown = set(mounts) - set(PREFIXES)
        if unknown:
            raise ValueError(f"operations routes live under {', '.join(PREFIXES)}, not {sorted(unknown)}")
        self._mounts = tuple(mounts.items())

    def find(self, path: str) -> ASGIApp | None:
        """The app mounted at the prefix ``path`` falls under (``/admin`` and ``/admin/...``)."""
        for prefix, app in self._mounts:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return app
        return None


async def docs_redirect(scope: Scope, receive: Receive, send: Send) -> None:
    """``/docs``: the admin API's OpenAPI documentation is at ``/admin/docs``."""
    await respond(send, 307, b"", [(b"location", b"/admin/docs")])
