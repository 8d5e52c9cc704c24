"""What the security tests (rows A, T, K, B, R of BAD-INPUTS.md) share: a governed gateway with
extra scripted models, the live route inventory, raw requests the HTTP clients refuse to send, and
row counts of every table of a SQLite database."""

from __future__ import annotations

import socket
import sqlite3
from typing import Any

from switchgear.server import App
from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread
from tests.fakes.governance import GOVERNED_MODELS, MASTER_KEY, GovernedGateway, LoopProbe, Stores

# A minimal valid body of each hot POST route: were authentication skipped, each would reach the
# simulator.
HOT_BODIES: dict[str, dict[str, Any]] = {
    "/chat/completions": {"model": "metered", "messages": [{"role": "user", "content": "hi"}]},
    "/completions": {"model": "metered", "prompt": "hi"},
    "/embeddings": {"model": "metered", "input": "hi"},
    "/messages": {"model": "metered", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
    "/responses": {"model": "metered", "input": "hi"},
    "/messages/count_tokens": {"model": "metered", "messages": [{"role": "user", "content": "hi"}]},
}
# Routes that answer without a key by design (load balancers probe them).
PUBLIC = {"/health", "/health/live", "/health/ready"}
PATH_PARAMS = ("key_id", "org_id", "team_id", "user_id", "end_user_id", "scope_id", "kind", "request_id")


class ScriptedGateway(GovernedGateway):
    """A ``GovernedGateway`` serving ``extra`` models besides the governed ones, with ``config``
    merged over its sections (``governance`` settings go through ``governance``)."""

    def __init__(
        self,
        sim: SimulatorThread,
        stores: Stores,
        extra: list[dict[str, Any]] | None = None,
        config: dict[str, Any] | None = None,
        **governance: Any,
    ) -> None:
        settings = base_config(sim, master_key=MASTER_KEY)
        settings["models"] = [*settings["models"], *GOVERNED_MODELS, *(extra or [])]
        settings["storage"] = {"database_url": stores.database_url}
        if stores.redis_url:
            settings["storage"]["redis_url"] = stores.redis_url
        settings["governance"] = governance
        for section, values in (config or {}).items():
            settings[section] = {**settings.get(section, {}), **values}
        self.probe = LoopProbe()
        self.thread = GatewayThread(settings, stages=[self.probe])
        self.url = self.thread.url


def hot_routes(app: App) -> list[tuple[str, str]]:
    """(method, path) of every hot route the app serves, each under its ``/v1`` path."""
    found = [("POST", "/v1" + path) for path in app._post]
    found += [("GET", "/v1" + path) for path in app._get if path not in PUBLIC]
    found.append(("GET", "/v1/models/metered"))  # the one-model route (a prefix, not in the table)
    return found


def admin_routes(openapi: dict[str, Any], fill: str = "x") -> list[tuple[str, str, str]]:
    """(method, concrete path, templated path) of every route of the admin app's OpenAPI."""
    found = []
    for path, methods in openapi["paths"].items():
        concrete = path
        for name in PATH_PARAMS:
            concrete = concrete.replace("{" + name + "}", "key" if name == "kind" else fill)
        found += [(method.upper(), concrete, path) for method in methods]
    return found


def row_counts(path: str) -> dict[str, int]:
    """Rows in every table of the SQLite file at ``path``."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        return {t: db.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}


def raw_request(port: int, head: bytes, timeout: float = 5.0) -> bytes:
    """Send a request head (and nothing else) as given, return what came back until the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and _complete(answer):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
