"""The admin UI's pages: overview, deployments, keys, teams and users, spend, the request log.

Each page reads and changes through the admin service, as the admin API does, with the signed-in
caller's tenancy; a form that creates or changes something answers with the page that shows the
result (a new key's secret is shown on that one answer only, never again).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.responses import RedirectResponse, Response

from switchgear.core.errors import InvalidRequest, NotFound
from switchgear.engine.build import Runtime
from switchgear.engine.models_view import deployments_view
from switchgear.keys.admin import AdminService
from switchgear.keys.schemas import KeyInput, KeyRotate, OrgInput, TeamInput, UserInput
from switchgear.server.admin import cache_status
from switchgear.server.ui_app import Ctx, Handler
from switchgear.server.ui_forms import (
    LIMITS,
    day_filter,
    fields,
    int_filter,
    text_filter,
    time_filter,
    validated,
)
from switchgear.server.ui_render import SECURITY_HEADERS, bar_chart

GROUPS = ("key", "user", "team", "org", "model", "tag", "day")
AUDIT_KINDS = ("key", "user", "team", "org", "end_user")
KEY_FIELDS = ("name", "team_id", "user_id", "models", "tags", "max_parallel_requests", *LIMITS)
REQUEST_FILTERS = ("request_id", "key_id", "team_id", "model", "status", "start", "end")
PAGE = 50


def _see(path: str) -> Response:
    return RedirectResponse(path, status_code=303, headers=SECURITY_HEADERS)


def _without_credentials(url: str | None) -> str | None:
    """A base URL as the page may show it: no ``user:password@``."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class UiPages:
    def __init__(self, runtime: Runtime, service: AdminService) -> None:
        self._runtime = runtime
        self._svc = service

    def routes(self) -> list[tuple[str, Handler, bool]]:
        """(path, handler, is a POST)."""
        return [
            ("/ui/overview", self.overview, False),
            ("/ui/deployments", self.deployments, False),
            ("/ui/keys", self.keys, False),
            ("/ui/keys", self.create_key, True),
            ("/ui/keys/{key_id}", self.key, False),
            ("/ui/keys/{key_id}", self.update_key, True),
            ("/ui/keys/{key_id}/revoke", self.revoke_key, True),
            ("/ui/keys/{key_id}/rotate", self.rotate_key, True),
            ("/ui/audit", self.audit, False),
            ("/ui/teams", self.teams, False),
            ("/ui/orgs", self.create_org, True),
            ("/ui/teams", self.create_team, True),
            ("/ui/users", self.users, False),
            ("/ui/users", self.create_user, True),
            ("/ui/spend", self.spend, False),
            ("/ui/spend.csv", self.spend_csv, False),
            ("/ui/requests", self.requests, False),
            ("/ui/requests/{request_id:path}", self.request, False),
        ]

    async def overview(self, ctx: Ctx) -> Response:
        days = int_filter(ctx.query("days"), "days") or 14
        board = await self._svc.dashboard.overview(ctx.actor, days)
        requests = bar_chart([(g.group or "", g.requests, g.failed_requests) for g in board.days])
        spend = bar_chart([(g.group or "", float(g.spend), 0) for g in board.days], fmt="${:,.4f}")
        cache = cache_status(self._runtime.engine.chain.stages) if ctx.actor.is_master else None
        note = "the response cache is off" if ctx.actor.is_master else "shown to the master key"
        return ctx.render(
            "overview.html",
            "overview",
            board=board,
            requests_chart=requests,
            spend_chart=spend,
            days=days,
            cache=cache,
            cache_note=note,
        )

    async def deployments(self, ctx: Ctx) -> Response:
        settings = self._runtime.settings
        today = datetime.now(UTC).date()
        traffic = await self._svc.reports.spend(ctx.actor, "model", today, today)
        seen = {g.group: g for g in traffic.data}
        health = deployments_view(self._runtime.router)["models"]  # this worker's view
        models = [
            {
                "name": m.name,
                "routing": m.routing,
                "today": seen.get(m.name),
                "deployments": [
                    {
                        "provider": d.provider,
                        "type": settings.providers[d.provider].type,
                        "base_url": _without_credentials(settings.providers[d.provider].base_url),
                        "model": d.model,
                        "weight": d.weight,
                        "health": health[m.name]["deployments"][i],
                    }
                    for i, d in enumerate(m.deployments)
                ],
            }
            for m in settings.models
        ]
        return ctx.render("deployments.html", "deployments", models=models)

    async def keys(self, ctx: Ctx, created: Any = None, rotated: str | None = None) -> Response:
        revoked = ctx.query("include_revoked") == "1"
        offset = int_filter(ctx.query("offset"), "offset") or 0
        listing = await self._svc.keys.list(ctx.actor, include_revoked=revoked, limit=PAGE, offset=offset)
        teams = await self._svc.hierarchy.list_teams(ctx.actor, limit=1000)
        return ctx.render(
            "keys.html",
            "keys",
            status=201 if created is not None else 200,
            keys=listing.data,
            next_offset=listing.next_offset,
            include_revoked=revoked,
            teams=teams.data,
            created=created,
            rotated=rotated,
        )

    async def create_key(self, ctx: Ctx) -> Response:
        body = validated(KeyInput, fields(ctx.form, KEY_FIELDS))
        created = await self._svc.keys.create(ctx.actor, body)
        return await self.keys(ctx, created=created)

    async def key(self, ctx: Ctx) -> Response:
        key_id = ctx.request.path_params["key_id"]
        key = await self._svc.keys.get(ctx.actor, key_id)
        budget = await self._svc.reports.budget(ctx.actor, "key", key_id)
        recent = await self._svc.reports.requests(ctx.actor, key_id=key_id, limit=10)
        return ctx.render("key.html", "keys", key=key, budget=budget, recent=recent.data)

    async def update_key(self, ctx: Ctx) -> Response:
        key_id = ctx.request.path_params["key_id"]
        names = ("name", "models", "max_parallel_requests", *LIMITS)
        body = validated(KeyInput, fields(ctx.form, names, clear_empty=True))
        await self._svc.keys.update(ctx.actor, key_id, body)
        return _see(f"/ui/keys/{key_id}")

    async def revoke_key(self, ctx: Ctx) -> Response:
        key_id = ctx.request.path_params["key_id"]
        await self._svc.keys.revoke(ctx.actor, key_id)
        return _see(f"/ui/keys/{key_id}")

    async def rotate_key(self, ctx: Ctx) -> Response:
        """A new secret for the key (shown once); the old one works for the grace period."""
        key_id = ctx.request.path_params["key_id"]
        body = validated(KeyRotate, fields(ctx.form, ("grace_period",)))
        created = await self._svc.keys.rotate(ctx.actor, key_id, body)
        return await self.keys(ctx, created=created, rotated=key_id)

    async def audit(self, ctx: Ctx) -> Response:
        shown = {name: ctx.query(name) or "" for name in ("object_kind", "object_id", "by")}
        before = int_filter(ctx.query("before_id"), "before_id")
        kind = text_filter(shown["object_kind"])
        if kind is not None and kind not in AUDIT_KINDS:
            raise InvalidRequest(f"object_kind: one of {', '.join(AUDIT_KINDS)}", param="object_kind")
        page = await self._svc.reports.audit(
            ctx.actor,
            object_kind=kind,  # type: ignore[arg-type]
            object_id=text_filter(shown["object_id"]),
            by=text_filter(shown["by"]),
            limit=PAGE,
            before_id=before,
        )
        more = None
        if page.next_before_id is not None:
            more = {**{k: v for k, v in shown.items() if v}, "before_id": page.next_before_id}
        return ctx.render("audit.html", "audit", page=page, form=shown, kinds=AUDIT_KINDS, more=more)

    async def teams(self, ctx: Ctx) -> Response:
        orgs = await self._svc.hierarchy.list_orgs(ctx.actor, limit=1000) if ctx.actor.is_master else None
        teams = await self._svc.hierarchy.list_teams(ctx.actor, limit=1000)
        return ctx.render(
            "teams.html", "teams", orgs=orgs.data if orgs is not None else None, teams=teams.data
        )

    async def create_org(self, ctx: Ctx) -> Response:
        await self._svc.hierarchy.create_org(
            ctx.actor, validated(OrgInput, fields(ctx.form, ("name", *LIMITS)))
        )
        return _see("/ui/teams")

    async def create_team(self, ctx: Ctx) -> Response:
        body = validated(TeamInput, fields(ctx.form, ("name", "org_id", *LIMITS)))
        await self._svc.hierarchy.create_team(ctx.actor, body)
        return _see("/ui/teams")

    async def users(self, ctx: Ctx) -> Response:
        users = await self._svc.hierarchy.list_users(ctx.actor, limit=1000)
        teams = await self._svc.hierarchy.list_teams(ctx.actor, limit=1000)
        return ctx.render("users.html", "users", users=users.data, teams=teams.data)

    async def create_user(self, ctx: Ctx) -> Response:
        body = validated(UserInput, fields(ctx.form, ("name", "email", "team_id", "role", *LIMITS)))
        await self._svc.hierarchy.create_user(ctx.actor, body)
        return _see("/ui/users")

    async def _report(self, ctx: Ctx) -> tuple[Any, dict[str, str]]:
        group = ctx.query("group_by") or "key"
        if group not in GROUPS:
            group = "key"
        filters = {name: text_filter(ctx.query(name)) for name in ("key_id", "team_id", "model", "tag")}
        report = await self._svc.reports.spend(
            ctx.actor,
            group,  # type: ignore[arg-type]
            day_filter(ctx.query("start"), "start"),
            day_filter(ctx.query("end"), "end"),
            **filters,
        )
        shown = {name: value or "" for name, value in filters.items()}
        return report, {**shown, "group_by": group, "start": str(report.start), "end": str(report.end)}

    async def spend(self, ctx: Ctx) -> Response:
        report, shown = await self._report(ctx)
        return ctx.render("spend.html", "spend", report=report, form=shown, groups=GROUPS)

    async def spend_csv(self, ctx: Ctx) -> Response:
        report, shown = await self._report(ctx)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = ("requests", "failed_requests", "prompt_tokens", "completion_tokens")
        writer.writerow([report.group_by, *columns, "spend_usd", "cost_nanousd"])
        for g in report.data:
            writer.writerow(
                [_csv_cell(g.group or ""), *(getattr(g, c) for c in columns), f"{g.spend:f}", g.cost_nanousd]
            )
        name = f"spend-by-{report.group_by}-{shown['start']}-{shown['end']}.csv"
        headers = {**SECURITY_HEADERS, "content-disposition": f'attachment; filename="{name}"'}
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    async def requests(self, ctx: Ctx) -> Response:
        shown = {name: ctx.query(name) or "" for name in REQUEST_FILTERS}
        page = await self._svc.reports.requests(
            ctx.actor,
            request_id=text_filter(shown["request_id"]),
            key_id=text_filter(shown["key_id"]),
            team_id=text_filter(shown["team_id"]),
            model=text_filter(shown["model"]),
            status=int_filter(shown["status"], "status"),
            start=time_filter(shown["start"], "start"),
            end=time_filter(shown["end"], "end"),
            limit=PAGE,
            cursor=text_filter(ctx.query("cursor")),
        )
        more = {**shown, "cursor": page.next_cursor} if page.next_cursor else None
        return ctx.render("requests.html", "requests", page=page, form=shown, more=more)

    async def request(self, ctx: Ctx) -> Response:
        request_id = ctx.request.path_params["request_id"]
        page = await self._svc.reports.requests(ctx.actor, request_id=request_id, limit=1)
        if not page.data:
            raise NotFound("request not found: it is not in the request log (or not yours to see)")
        try:
            payload = await self._svc.reports.payload(ctx.actor, request_id)
        except NotFound:
            payload = None
        return ctx.render("request.html", "requests", row=page.data[0], payload=payload)
