"""Admin UI pages over plain HTTP (no browser needed): rotating a key from its page shows the new
secret once and keeps the old one working for the grace period; the audit page lists the changes,
filtered, and escapes what it shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores

ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def gateway(sim: SimulatorThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovernedGateway]:
    path = tmp_path_factory.mktemp("ui-pages") / "ui.db"
    gw = GovernedGateway(sim, Stores(f"sqlite:///{path}", None)).start()
    yield gw
    gw.stop()


@contextmanager
def _signed_in(gw: GovernedGateway) -> Iterator[httpx.Client]:
    """A client signed in as the master key."""
    with httpx.Client(base_url=gw.url) as http:
        form = http.get("/ui/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        assert http.post("/ui/login", data={"key": MASTER_KEY, "csrf": token.group(1)}).status_code == 303
        yield http


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _works(gw: GovernedGateway, key: str) -> bool:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
    try:
        client.chat.completions.create(model="metered", messages=[{"role": "user", "content": "hi"}])
    except openai.AuthenticationError:
        return False
    return True


def test_rotating_a_key_from_its_page(gateway: GovernedGateway) -> None:
    made = httpx.post(gateway.url + "/admin/keys", headers=ADMIN, json={"name": "rotated-app"}).json()
    with _signed_in(gateway) as http:
        page = http.get(f"/ui/keys/{made['id']}").text
        assert 'id="rotate-key"' in page
        done = http.post(f"/ui/keys/{made['id']}/rotate", data={"csrf": _csrf(page), "grace_period": "1h"})
        assert done.status_code == 201, done.text
        new_key = re.search(r'id="new-key">([^<]+)<', done.text)
        assert new_key is not None and "Key rotated" in done.text and made["id"] in done.text
        refused = http.post(f"/ui/keys/{made['id']}/rotate", data={"grace_period": "1h"})
        assert refused.status_code == 403  # no CSRF token: refused
    assert _works(gateway, new_key.group(1)) and _works(gateway, made["key"])  # old one: grace period


def test_the_audit_page_lists_changes_filtered_and_escaped(gateway: GovernedGateway) -> None:
    made = httpx.post(
        gateway.url + "/admin/keys", headers=ADMIN, json={"name": "<script>alert(1)</script>"}
    ).json()
    with _signed_in(gateway) as http:
        page = http.get("/ui/audit", params={"object_kind": "key", "object_id": made["id"]})
        assert page.status_code == 200
        assert made["id"] in page.text and "create" in page.text
        assert "<script>alert(1)" not in page.text
        bad = http.get("/ui/audit", params={"object_kind": "planet"})
        assert bad.status_code == 400 and "object_kind" in bad.text
