"""The admin UI's sign-in throttle over real sockets: after ten refused sign-ins from one address
the next attempt is refused with 429 and Retry-After, even with the right key."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from switchgear.simulator.server import SimulatorThread
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores


def _sign_in(http: httpx.Client, key: str) -> httpx.Response:
    form = http.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return http.post("/ui/login", data={"key": key, "csrf": token.group(1)})


def test_refused_sign_ins_are_throttled(sim: SimulatorThread, tmp_path: Path) -> None:
    gw = GovernedGateway(sim, Stores(f"sqlite:///{tmp_path}/ui.db", None)).start()
    try:
        with httpx.Client(base_url=gw.url) as http:
            for i in range(10):
                assert _sign_in(http, f"sk-sg-wrong-{i}").status_code == 401
            held = _sign_in(http, MASTER_KEY)
            assert held.status_code == 429 and "too many refused sign-ins" in held.text
            assert 1 <= int(held.headers["retry-after"]) <= 300
    finally:
        gw.stop()
