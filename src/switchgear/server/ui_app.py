"""The admin UI at ``/ui``: a Starlette app of server-rendered pages behind the server's operations
dispatcher (never on the model APIs' path), over the same admin service as the admin API.

Sign-in takes the master key or an org or team admin's key and starts a session, kept in the
database by the admin service (``keys.sessions``: every worker and replica knows it, signing out
ends it everywhere); every page reads the session and who it names now, so a page shows exactly
what that caller may see through the admin API. Every POST carries the session's CSRF token; a form
without it is refused (403) before anything is read or changed. The pages themselves are in
``ui_pages``; the stylesheet is served from the package (no CDN: the UI works air-gapped).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from switchgear.core.errors import GatewayError, NotFound
from switchgear.engine.build import Runtime
from switchgear.keys.admin import AdminService
from switchgear.keys.sessions import UiSession
from switchgear.keys.tenancy import Actor
from switchgear.server.admin_auth import GOVERNANCE_OFF
from switchgear.server.asgi import Receive, Scope, Send, respond_error
from switchgear.server.ops import ASGIApp
from switchgear.server.ui_forms import read_form
from switchgear.server.ui_render import SECURITY_HEADERS, Pages
from switchgear.server.ui_session import LOGIN_COOKIE, SESSION_COOKIE, cookie, csrf_matches
from switchgear.server.ui_throttle import SignInThrottle

log = logging.getLogger("switchgear.ui")
FAILED = "the page could not be made; the gateway log has the reason"
CSRF_REFUSED = "the form's CSRF token is missing or wrong: reload the page and send the form again"


@dataclass
class Ctx:
    """One signed-in request: who is calling, their session, the form sent (POST)."""

    request: Request
    actor: Actor
    session: UiSession
    pages: Pages
    form: dict[str, str] = field(default_factory=dict)

    def render(self, name: str, nav: str, status: int = 200, **context: Any) -> Response:
        return self.pages.render(
            name, status=status, actor=self.actor, csrf=self.session.csrf, nav=nav, **context
        )

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


Handler = Callable[[Ctx], Awaitable[Response]]


def _secure(request: Request) -> bool:
    forced: bool | None = request.app.state.secure_cookies
    return request.url.scheme == "https" if forced is None else forced


def _static() -> dict[str, bytes]:
    folder = resources.files("switchgear.ui") / "static"
    return {item.name: item.read_bytes() for item in folder.iterdir() if item.name.endswith(".css")}


class UiApp:
    def __init__(self, runtime: Runtime, service: AdminService) -> None:
        from switchgear.server.ui_pages import UiPages

        self.service = service
        self.pages = Pages()
        self.throttle = SignInThrottle()
        self._static = _static()
        views = UiPages(runtime, service)
        routes = [
            Route("/ui", self._home, methods=["GET"]),
            Route("/ui/", self._home, methods=["GET"]),
            Route("/ui/login", self._login_page, methods=["GET"]),
            Route("/ui/login", self._login, methods=["POST"]),
            Route("/ui/logout", self._guard(self._logout, post=True), methods=["POST"]),
            Route("/ui/static/{name}", self._file, methods=["GET"]),
        ]
        for path, handler, post in views.routes():
            routes.append(Route(path, self._guard(handler, post=post), methods=["POST" if post else "GET"]))
        missing = {404: self._missing, 405: self._missing}
        self._app = Starlette(routes=routes, exception_handlers=missing)
        self._app.state.secure_cookies = runtime.settings.server.ui_secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def _guard(self, handler: Handler, *, post: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            found = await self.service.sessions.read(request.cookies.get(SESSION_COOKIE))
            if found is None:  # none, expired, signed out, or its key revoked since
                return self._to_login(request, clear=SESSION_COOKIE in request.cookies)
            actor, session = found
            ctx = Ctx(request, actor, session, self.pages)
            try:
                if post:
                    ctx.form = await read_form(request)
                    if not csrf_matches(session.csrf, ctx.form.get("csrf")):
                        return self._error(request, 403, CSRF_REFUSED, actor=actor, csrf=session.csrf)
                return await handler(ctx)
            except GatewayError as exc:
                return self._error(request, exc.status, exc.message, actor=actor, csrf=session.csrf)

        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Exception as exc:  # the request's boundary: a page, never a traceback
                log.error("ui %s %s failed", request.method, request.url.path, exc_info=exc)
                return self._error(request, 500, FAILED)

        return guarded

    def _error(self, request: Request, status: int, message: str, **context: Any) -> Response:
        return self.pages.render("error.html", status=status, message=message, nav="", **context)

    def _to_login(self, request: Request, *, clear: bool = False) -> Response:
        response = RedirectResponse("/ui/login", status_code=303, headers=SECURITY_HEADERS)
        if clear:
            response.headers.append(
                "set-cookie", cookie(SESSION_COOKIE, "", secure=_secure(request), max_age=0)
            )
        return response

    async def _missing(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        message = f"no page {request.method} {request.url.path}"
        return self.pages.render("error.html", status=status, message=message, nav="")

    async def _home(self, request: Request) -> Response:
        return RedirectResponse("/ui/overview", status_code=303, headers=SECURITY_HEADERS)

    async def _file(self, request: Request) -> Response:
        body = self._static.get(request.path_params["name"])
        if body is None:
            return Response(b"not found", status_code=404, headers=SECURITY_HEADERS)
        headers = {**SECURITY_HEADERS, "cache-control": "public, max-age=3600"}
        return Response(body, media_type="text/css", headers=headers)

    def _login_form(self, request: Request, status: int = 200, message: str | None = None) -> Response:
        token = secrets.token_urlsafe(24)  # the form must send back what the cookie holds
        response = self.pages.render("login.html", status=status, login_csrf=token, message=message)
        response.headers.append(
            "set-cookie", cookie(LOGIN_COOKIE, token, secure=_secure(request), max_age=600)
        )
        return response

    async def _login_page(self, request: Request) -> Response:
        if await self.service.sessions.read(request.cookies.get(SESSION_COOKIE)) is not None:
            return await self._home(request)
        return self._login_form(request)

    async def _login(self, request: Request) -> Response:
        client = request.client.host if request.client is not None else ""
        wait = self.throttle.wait(client)
        if wait:
            response = self._login_form(
                request, 429, f"too many refused sign-ins from this address: try again in {wait}s"
            )
            response.headers["retry-after"] = str(wait)
            return response
        try:
            form = await read_form(request)
        except GatewayError as exc:
            return self._login_form(request, exc.status, exc.message)
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not csrf_matches(expected, form.get("csrf")):
            return self._login_form(request, 403, CSRF_REFUSED)
        secret = form.get("key", "").strip()
        if not secret:
            return self._login_form(request, 401, "sign-in refused: enter a key")
        try:
            value, _ = await self.service.sessions.sign_in(secret.encode())
        except GatewayError as exc:
            self.throttle.failed(client)
            log.info("ui sign-in refused: %s", exc.message)
            return self._login_form(request, exc.status, "sign-in refused: " + exc.message)
        max_age = int(self.service.sessions.ttl.total_seconds())
        response = RedirectResponse("/ui/overview", status_code=303, headers=SECURITY_HEADERS)
        secure = _secure(request)
        response.headers.append("set-cookie", cookie(SESSION_COOKIE, value, secure=secure, max_age=max_age))
        response.headers.append("set-cookie", cookie(LOGIN_COOKIE, "", secure=secure, max_age=0))
        return response

    async def _logout(self, ctx: Ctx) -> Response:
        await self.service.sessions.sign_out(ctx.request.cookies.get(SESSION_COOKIE, ""))
        return self._to_login(ctx.request, clear=True)


async def ui_off(scope: Scope, receive: Receive, send: Send) -> None:
    """``/ui`` when governance is off: nothing to sign in with, and no keys or spend to show."""
    await respond_error(
        send, NotFound("the admin UI needs governance: " + GOVERNANCE_OFF, code="governance_off"), []
    )


def build_ui(runtime: Runtime, service: AdminService | None) -> UiApp | ASGIApp:
    """The admin UI, or ``ui_off`` when governance is off (no master key: nothing to sign in with)."""
    master = runtime.settings.server.master_key
    if service is None or master is None or not runtime.settings.governance_on:
        return ui_off
    return UiApp(runtime, service)
