"""The admin UI in a real browser (headless Chromium) against a real gateway with governance on:
sign in, make a key and call the gateway with it through the OpenAI SDK, find that request by id,
revoke the key and see it refused; hostile text rendered inert; CSRF; the session cookie's flags;
no page breaks its Content-Security-Policy. Screenshots of the main pages are saved
(tests/fakes/browser.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes import browser as chromium
from tests.fakes.gateway import GatewayThread
from tests.fakes.governance import MASTER_KEY, GovernedGateway, Stores

browser = chromium.browser  # the fixtures
artifacts = chromium.artifacts
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def gateway(sim: SimulatorThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovernedGateway]:
    path = tmp_path_factory.mktemp("ui-db") / "switchgear.db"
    gw = GovernedGateway(sim, Stores(f"sqlite:///{path}", None)).start()
    yield gw
    gw.stop()


class Ui:
    """One signed-in browser context; records every console message (a CSP violation is one)."""

    def __init__(self, launched: Any, base: str, folder: Path) -> None:
        self.context = launched.new_context(base_url=base, viewport={"width": 1360, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.artifacts = folder

    def sign_in(self, key: str = MASTER_KEY) -> None:
        self.page.goto("/ui")
        assert self.page.url.endswith("/ui/login")
        self.page.fill("input[name=key]", key)
        self.page.click("button[type=submit]")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]


@pytest.fixture
def ui(browser: Any, gateway: GovernedGateway, artifacts: Path) -> Iterator[Ui]:
    session = Ui(browser, gateway.url, artifacts)
    yield session
    session.context.close()


def _client(gateway: GovernedGateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=gateway.url + "/v1", max_retries=0, timeout=10)


def _logged(gateway: GovernedGateway, request_id: str, timeout: float = 10) -> None:
    """Wait until the spend log has written ``request_id`` (its writer flushes every second)."""
    deadline = time.monotonic() + timeout
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    while time.monotonic() < deadline:
        found = httpx.get(f"{gateway.url}/admin/requests", params={"request_id": request_id}, headers=headers)
        if found.json()["data"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"request {request_id} never reached the request log")


def test_sign_in_make_a_key_use_it_find_its_request_and_revoke_it(ui: Ui, gateway: GovernedGateway) -> None:
    ui.sign_in()
    page = ui.page
    assert page.url.endswith("/ui/overview")
    assert page.locator("h1").inner_text() == "Overview"

    page.goto("/ui/keys")
    page.fill("#create-key input[name=name]", "ui-made")
    page.fill("#create-key input[name=max_budget]", "5")
    page.fill("#create-key input[name=rpm_limit]", "100")
    page.click("#create-key button[type=submit]")
    secret = page.locator("#new-key").inner_text().strip()
    assert secret.startswith("sk-sg-")
    ui.shot("keys-created")

    raw = _client(gateway, secret).chat.completions.with_raw_response.create(
        model="metered", messages=[{"role": "user", "content": "hello from the UI test"}]
    )
    assert raw.parse().choices[0].message.content
    request_id = raw.headers["x-request-id"]
    _logged(gateway, request_id)

    page.goto("/ui/requests")
    page.fill("#request-filters input[name=request_id]", request_id)
    page.click("#request-filters button[type=submit]")
    rows = page.locator("table.requests tbody tr")
    assert rows.count() == 1 and request_id in rows.first.inner_text()
    ui.shot("requests")
    rows.first.locator("a").first.click()
    detail = page.locator("#request-detail").inner_text()
    assert "metered" in detail and "$0.000210" in detail and "10 in" in detail and "100 out" in detail
    ui.shot("request-detail")

    page.goto("/ui/keys")
    page.click("text=ui-made")
    assert page.locator("#key-status").inner_text() == "active"
    assert "$0.000210" in page.locator("main").inner_text()  # its spend, and its request below
    ui.shot("key-detail")
    page.click("#revoke-key button")
    assert page.locator("#key-status").inner_text() == "revoked"

    with pytest.raises(openai.AuthenticationError, match="revoked"):
        _client(gateway, secret).chat.completions.create(
            model="metered", messages=[{"role": "user", "content": "again"}]
        )

    page.goto("/ui/overview")
    assert int(page.locator("#tile-requests").inner_text().replace(",", "")) >= 1
    ui.shot("overview")
    for name in ("deployments", "teams", "users", "spend"):
        page.goto(f"/ui/{name}")
        assert page.locator("h1").count() == 1
        if name == "deployments":  # each deployment's breaker state, as this worker sees it
            assert page.locator("td", has_text="closed").count() >= 1
        ui.shot(name)
    assert ui.csp_violations() == []


def test_hostile_names_and_models_render_as_text(ui: Ui, gateway: GovernedGateway) -> None:
    ui.sign_in()
    page = ui.page
    page.goto("/ui/keys")
    page.fill("#create-key input[name=name]", HOSTILE)
    page.click("#create-key button[type=submit]")
    secret = page.locator("#new-key").inner_text().strip()
    # a request for a model named with markup: refused (no such model) and logged under that name
    with pytest.raises(openai.NotFoundError) as refused:
        _client(gateway, secret).chat.completions.create(
            model=HOSTILE, messages=[{"role": "user", "content": HOSTILE}]
        )
    request_id = refused.value.response.headers["x-request-id"]
    _logged(gateway, request_id)

    for path in ("/ui/keys", f"/ui/requests?request_id={request_id}", f"/ui/requests/{request_id}"):
        page.goto(path)
        assert HOSTILE in page.locator("main").inner_text(), path
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main script").count() == 0 and page.locator("main img").count() == 0
    page.goto("/ui/overview")
    assert HOSTILE in page.locator("main").inner_text()  # the top models table
    assert page.evaluate("window.__pwned") is None
    assert ui.dialogs == [] and ui.csp_violations() == []


def test_a_form_without_its_csrf_token_is_refused(ui: Ui, gateway: GovernedGateway) -> None:
    ui.sign_in()
    cookies = {c["name"]: c["value"] for c in ui.context.cookies()}
    with httpx.Client(base_url=gateway.url, cookies=cookies, follow_redirects=False) as http:
        before = http.get("/ui/keys").text.count("<tr>")
        refused = http.post("/ui/keys", data={"name": "forged"})
        assert refused.status_code == 403 and "CSRF" in refused.text
        wrong = http.post("/ui/keys", data={"name": "forged", "csrf": "not-the-token"})
        assert wrong.status_code == 403
        assert "forged" not in http.get("/ui/keys").text and http.get("/ui/keys").text.count("<tr>") == before
        token = re.search(r'name="csrf" value="([^"]+)"', http.get("/ui/keys").text)
        assert token is not None
        made = http.post("/ui/keys", data={"name": "with-token", "csrf": token.group(1)})
        assert made.status_code == 201 and "with-token" in made.text
    # signing in needs the login form's own token too
    with httpx.Client(base_url=gateway.url, follow_redirects=False) as http:
        assert http.post("/ui/login", data={"key": MASTER_KEY}).status_code == 403


def test_session_cookie_flags_sign_out_and_a_wrong_key(ui: Ui, gateway: GovernedGateway) -> None:
    ui.sign_in("sk-sg-not-a-real-key")
    assert ui.page.url.endswith("/ui/login")
    assert "sign-in refused" in ui.page.locator(".alert").inner_text()
    ui.sign_in()
    (session,) = [c for c in ui.context.cookies() if c["name"] == "sg_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict" and session["path"] == "/ui"
    assert session["secure"] is False  # plain HTTP here; Secure under TLS (tests/unit/server/test_ui_session)
    assert ui.page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
    response = ui.page.goto("/ui/overview")
    assert response is not None
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    ui.page.click(".signout button")
    assert ui.page.url.endswith("/ui/login")
    assert [c for c in ui.context.cookies() if c["name"] == "sg_session"] == []
    ui.page.goto("/ui/keys")
    assert ui.page.url.endswith("/ui/login")
    # signing out ended the session on the server: a copy of the cookie taken before is refused
    with httpx.Client(base_url=gateway.url, cookies={"sg_session": session["value"]}) as http:
        replay = http.get("/ui/keys", follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"] == "/ui/login"


def test_spend_report_filters_and_csv(ui: Ui, gateway: GovernedGateway) -> None:
    ui.sign_in()
    page = ui.page
    page.goto("/ui/spend?group_by=model")
    assert "metered" in page.locator("#spend").inner_text()
    cookies = {c["name"]: c["value"] for c in ui.context.cookies()}
    with httpx.Client(base_url=gateway.url, cookies=cookies) as http:
        csv = http.get("/ui/spend.csv", params={"group_by": "model", "model": "metered"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "model,requests,failed_requests,prompt_tokens,completion_tokens,spend_usd,cost_nanousd"
    assert lines[1].startswith("metered,") and len(lines) == 2


def test_over_tls_the_cookies_are_secure(gateway: GovernedGateway) -> None:
    """The gateway's own app, spoken to as https (scope scheme), in the gateway's event loop."""

    async def sign_in() -> tuple[list[str], list[str], int]:
        transport = httpx.ASGITransport(app=gateway.thread.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
            form = await http.get("/ui/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token is not None
            done = await http.post("/ui/login", data={"key": MASTER_KEY, "csrf": token.group(1)})
            overview = await http.get("/ui/overview")
            assert overview.status_code == 200 and "Overview" in overview.text
            return form.headers.get_list("set-cookie"), done.headers.get_list("set-cookie"), done.status_code

    login_cookies, session_cookies, status = gateway.call(sign_in())
    assert status == 303
    assert all("Secure" in c and "HttpOnly" in c and "SameSite=Strict" in c for c in login_cookies)
    (session,) = [c for c in session_cookies if c.startswith("sg_session=")]
    assert session.endswith("; Secure") and "HttpOnly" in session and "SameSite=Strict" in session


def test_without_governance_the_ui_says_why_it_is_off(sim: SimulatorThread) -> None:
    gw = GatewayThread(base_config(sim)).start()
    try:
        for path in ("/ui", "/ui/login", "/ui/keys"):
            response = httpx.get(gw.url + path)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "governance_off", path
    finally:
        gw.stop()


def _signed_in(http: httpx.Client, key: str) -> httpx.Response:
    form = http.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return http.post("/ui/login", data={"key": key, "csrf": token.group(1)})


def test_a_team_admin_sees_its_own_team_only(gateway: GovernedGateway) -> None:
    master = {"authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=gateway.url, headers=master) as api:
        org = api.post("/admin/orgs", json={"name": "tenancy-org"}).json()
        mine = api.post("/admin/teams", json={"name": "team-mine", "org_id": org["id"]}).json()
        other = api.post("/admin/teams", json={"name": "team-other", "org_id": org["id"]}).json()
        admin = api.post("/admin/users", json={"team_id": mine["id"], "role": "team_admin"}).json()
        admin_key = api.post("/admin/keys", json={"user_id": admin["id"], "name": "admin-key"}).json()
        api.post("/admin/keys", json={"team_id": mine["id"], "name": "key-of-mine"})
        api.post("/admin/keys", json={"team_id": other["id"], "name": "key-of-other"})
        member = api.post("/admin/users", json={"team_id": mine["id"]}).json()
        member_key = api.post("/admin/keys", json={"user_id": member["id"]}).json()
    with httpx.Client(base_url=gateway.url) as http:
        refused = _signed_in(http, member_key["key"])  # a key, but not an admin's
        assert refused.status_code == 403 and "sign-in refused" in refused.text
    with httpx.Client(base_url=gateway.url) as http:
        assert _signed_in(http, admin_key["key"]).status_code == 303
        keys = http.get("/ui/keys").text
        assert "key-of-mine" in keys and "key-of-other" not in keys
        teams = http.get("/ui/teams").text
        assert "team-mine" in teams and "team-other" not in teams and "Organizations" not in teams
        assert "team admin" in http.get("/ui/overview").text
        # revoking the admin's key ends its session at once
        with httpx.Client(base_url=gateway.url, headers=master) as api:
            api.delete(f"/admin/keys/{admin_key['id']}").raise_for_status()
        gone = http.get("/ui/keys", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == "/ui/login"


def test_unknown_pages_and_bad_filters_answer_a_page(gateway: GovernedGateway) -> None:
    with httpx.Client(base_url=gateway.url) as http:
        assert _signed_in(http, MASTER_KEY).status_code == 303
        missing = http.get("/ui/nothing-here")
        assert missing.status_code == 404 and "no page GET /ui/nothing-here" in missing.text
        assert "default-src 'self'" in missing.headers["content-security-policy"]
        assert http.delete("/ui/keys").status_code == 405
        bad = http.get("/ui/requests", params={"status": "two hundred"})
        assert bad.status_code == 400 and "status: a whole number is required" in bad.text
        bad = http.get("/ui/spend", params={"start": "yesterday"})
        assert bad.status_code == 400 and "start: a date is written YYYY-MM-DD" in bad.text
        gone = http.get("/ui/requests/req_that_never_was")
        assert gone.status_code == 404 and "not in the request log" in gone.text
        assert http.get("/ui/keys/key_that_never_was").status_code == 404


def test_secure_cookies_can_be_forced_behind_a_tls_proxy(sim: SimulatorThread, tmp_path: Path) -> None:
    config = base_config(sim, master_key=MASTER_KEY, ui_secure_cookies=True)
    config["storage"] = {"database_url": f"sqlite:///{tmp_path / 'gw.db'}"}
    gw = GatewayThread(config).start()
    try:
        with httpx.Client(base_url=gw.url) as http:
            (login,) = http.get("/ui/login").headers.get_list("set-cookie")
            assert login.startswith("sg_login=") and login.endswith("; Secure")
    finally:
        gw.stop()


def test_the_overview_shows_what_the_cache_saved(sim: SimulatorThread, tmp_path: Path) -> None:
    stores = Stores(f"sqlite:///{tmp_path / 'cache.db'}", None)
    gw = GovernedGateway(sim, stores, cache={"exact": {"enabled": True}}).start()
    try:
        client = _client(gw, MASTER_KEY)
        for _ in range(3):
            client.chat.completions.create(model="metered", messages=[{"role": "user", "content": "same"}])
        with httpx.Client(base_url=gw.url) as http:
            assert _signed_in(http, MASTER_KEY).status_code == 303
            page = http.get("/ui/overview").text
        assert "2 hits, 1 misses" in page
        saved = re.search(r'id="tile-cache">\$([0-9.]+)<', page)
        assert saved is not None and float(saved.group(1)) > 0
    finally:
        gw.stop()


def test_a_request_that_failed_over_shows_each_attempt(gateway: GovernedGateway) -> None:
    """The request log keeps the fallback path: "ha" tries a deployment that refuses connections
    before one that answers; the admin API and the request's page list every attempt."""
    answer = _client(gateway, MASTER_KEY).chat.completions.with_raw_response.create(
        model="ha", messages=[{"role": "user", "content": "hi"}]
    )
    request_id = answer.headers["x-request-id"]
    attempts = int(answer.headers["x-switchgear-attempts"])
    assert attempts >= 2
    _logged(gateway, request_id)
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    [row] = httpx.get(
        f"{gateway.url}/admin/requests", params={"request_id": request_id}, headers=headers
    ).json()["data"]
    path = row["path"]
    assert len(path) == attempts == row["attempts"]
    assert path[0]["deployment"] == "down/sim-small" and path[0]["status"] is None and path[0]["error"]
    assert path[-1]["status"] == 200 and path[-1]["error"] is None
    assert f"{row['provider']}/{row['deployment']}" == path[-1]["deployment"]
    with httpx.Client(base_url=gateway.url) as http:
        assert _signed_in(http, MASTER_KEY).status_code == 303
        page = http.get(f"/ui/requests/{request_id}").text
    assert 'id="request-path"' in page and "down/sim-small" in page
