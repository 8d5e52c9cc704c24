"""Admin reads of money and history: spend reports, the request log, a scope's budget counters and
the audit log, each narrowed to the caller's tenancy (an org admin sees its organization's spend,
a team admin its team's; a filter naming another tenant finds nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from switchgear.core.errors import InvalidRequest, PermissionDenied
from switchgear.keys.admin_base import AdminContext
from switchgear.keys.money import nano_to_usd
from switchgear.keys.tenancy import Actor, not_found
from switchgear.keys.views import (
    AuditPage,
    AuditView,
    BudgetView,
    CounterView,
    LimitsView,
    PayloadView,
    RequestPage,
    RequestView,
    SpendGroup,
    SpendReport,
)
from switchgear.storage import Limits
from switchgear.storage import NotFound as Missing
from switchgear.storage import hierarchy as tree
from switchgear.storage.audit import list_audit
from switchgear.storage.budgets import list_counters
from switchgear.storage.keys import get_key
from switchgear.storage.payloads import get_payload
from switchgear.storage.reports import GroupBy, query_requests, spend_report

BudgetKind = Literal["key", "user", "team", "org", "end_user"]


class _Nothing(Exception):
    """The caller's filters name another tenant: the answer is empty."""


def _tenant(actor: Actor, org_id: str | None, team_id: str | None) -> tuple[str | None, str | None]:
    """The organization and team filters narrowed to the caller's tenancy."""
    if actor.role == "org_admin":
        if org_id not in (None, actor.org_id):
            raise _Nothing
        return actor.org_id, team_id
    if actor.role == "team_admin":
        if team_id not in (None, actor.team_id):
            raise _Nothing
        return org_id, actor.team_id
    return org_id, team_id


class ReportAdmin:
    def __init__(self, ctx: AdminContext) -> None:
        self._ctx = ctx
        self._db = ctx.db

    async def spend(
        self,
        actor: Actor,
        group_by: GroupBy,
        start: date | None = None,
        end: date | None = None,
        *,
        key_id: str | None = None,
        user_id: str | None = None,
        team_id: str | None = None,
        org_id: str | None = None,
        model: str | None = None,
        tag: str | None = None,
    ) -> SpendReport:
        """Totals per group over the UTC days ``start`` to ``end`` (both included; by default
        the current month up to today)."""
        end = end or self._ctx.clock().astimezone(UTC).date()
        start = start or end.replace(day=1)
        if start > end:
            raise InvalidRequest("start must not be after end", param="start")
        try:
            org_id, team_id = _tenant(actor, org_id, team_id)
            totals = await spend_report(
                self._db,
                group_by,
                start,
                end,
                key_id=key_id,
                user_id=user_id,
                team_id=team_id,
                org_id=org_id,
                model=model,
                tag=tag,
            )
        except _Nothing:
            totals = []
        groups = [SpendGroup.of(t) for t in totals]
        total = sum(g.cost_nanousd for g in groups)
        return SpendReport(
            group_by=group_by,
            start=start,
            end=end,
            data=groups,
            total_spend=nano_to_usd(total),
            total_cost_nanousd=total,
        )

    async def requests(
        self,
        actor: Actor,
        *,
        request_id: str | None = None,
        key_id: str | None = None,
        user_id: str | None = None,
        team_id: str | None = None,
        org_id: str | None = None,
        model: str | None = None,
        status: int | None = None,
        failed: bool | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RequestPage:
        """The request log, newest first, a page at a time (``start`` included, ``end`` not)."""
        try:
            org_id, team_id = _tenant(actor, org_id, team_id)
            page = await query_requests(
                self._db,
                request_id=request_id,
                key_id=key_id,
                user_id=user_id,
                team_id=team_id,
                org_id=org_id,
                model=model,
                status=status,
                failed=failed,
                start=start,
                end=end,
                limit=limit,
                cursor=cursor,
            )
        except _Nothing:
            return RequestPage(data=[], next_cursor=None)
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="cursor" if "cursor" in str(exc) else "limit") from None
        return RequestPage(data=[RequestView.of(r) for r in page.rows], next_cursor=page.next_cursor)

    async def payload(self, actor: Actor, request_id: str) -> PayloadView:
        """A logged request's prompt and answer (``observability.payloads``), when the caller may
        see the request; 404 when it may not, or when no payload was logged for it."""
        page = await self.requests(actor, request_id=request_id, limit=1)
        found = await get_payload(self._db, request_id) if page.data else None
        if found is None:
            raise not_found("payload", request_id)
        return PayloadView.of(found)

    async def budget(self, actor: Actor, kind: BudgetKind, scope_id: str) -> BudgetView:
        """A scope's limits and its budget counters, one per period recorded."""
        limits = await self._visible_limits(actor, kind, scope_id)
        counters = await list_counters(self._db, kind, scope_id)
        return BudgetView(
            kind=kind,
            id=scope_id,
            periods=[CounterView.of(c) for c in counters],
            **LimitsView.fields(limits),
        )

    async def _visible_limits(self, actor: Actor, kind: BudgetKind, scope_id: str) -> Limits:
        try:
            if kind == "key":
                key = await get_key(self._db, scope_id)
                if actor.sees_key(key):
                    return key.limits
            elif kind == "user":
                user = await tree.get_user(self._db, scope_id)
                if actor.sees_user(user):
                    return user.limits
            elif kind == "team":
                team = await tree.get_team(self._db, scope_id)
                if actor.sees_team(team):
                    return team.limits
            elif kind == "org":
                if actor.sees_org(scope_id):
                    return (await tree.get_org(self._db, scope_id)).limits
            else:
                actor.only_master("read end-users' budgets")
                return (await tree.get_end_user(self._db, scope_id)).limits
        except Missing:
            pass
        raise not_found(kind, scope_id)

    async def audit(
        self,
        actor: Actor,
        *,
        object_kind: BudgetKind | None = None,
        object_id: str | None = None,
        by: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> AuditPage:
        """Changes, newest first. A scoped admin reads the history of an object it sees, or else
        the changes it made itself."""
        if not actor.is_master:
            if object_id is not None:
                if object_kind is None:
                    raise InvalidRequest("object_kind is required with object_id", param="object_kind")
                await self._visible_limits(actor, object_kind, object_id)
            elif by not in (None, actor.label):
                raise PermissionDenied("you can read the changes you made, or those of an object you see")
            else:
                by = actor.label
        entries = await list_audit(
            self._db,
            object_kind=object_kind,
            object_id=object_id,
            actor=by,
            limit=limit + 1,
            before_id=before_id,
        )
        more = len(entries) > limit
        entries = entries[:limit]
        return AuditPage(
            data=[AuditView.of(e) for e in entries],
            next_before_id=entries[-1].id if more and entries else None,
        )
