"""The governance routes of the admin API: keys, organizations, teams, users, end-users, budgets,
spend reports, the request log and the audit log (``keys.admin.AdminService`` does the work).

Each route takes the master key, or an org or team admin's key, as ``Authorization: Bearer``
(or ``x-api-key``). Without governance ``admin_auth.absent_router`` answers for these paths.
"""

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from switchgear.keys.admin import AdminService
from switchgear.keys.admin_reports import BudgetKind
from switchgear.keys.schemas import EndUserInput, KeyInput, KeyRotate, OrgInput, TeamInput, UserInput
from switchgear.keys.tenancy import Actor
from switchgear.keys.views import (
    AuditPage,
    BudgetView,
    EndUserView,
    KeyCreated,
    KeyView,
    Listing,
    OrgView,
    PayloadView,
    RequestPage,
    SpendReport,
    TeamView,
    UserView,
)
from switchgear.server.admin_auth import bearer_token

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
ActorDep = Callable[..., Awaitable[Actor]]
Svc = Callable[[], AdminService]


def governance_router(service: AdminService) -> APIRouter:
    router = APIRouter(prefix="/admin")

    async def actor(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Actor:
        return await service.actor(bearer_token(authorization, x_api_key))

    def svc() -> AdminService:
        return service

    _key_routes(router, actor, svc)
    _org_team_routes(router, actor, svc)
    _user_routes(router, actor, svc)
    _report_routes(router, actor, svc)
    return router


def _key_routes(router: APIRouter, actor: ActorDep, svc: Svc) -> None:
    Caller = Annotated[Actor, Depends(actor)]

    @router.post("/keys", status_code=201, tags=["keys"])
    async def create_key(caller: Caller, body: KeyInput) -> KeyCreated:
        """Make a virtual key. Its ``key`` is shown in this answer only; later reads show ``key_prefix``."""
        return await svc().keys.create(caller, body)

    @router.get("/keys", tags=["keys"])
    async def list_keys(
        caller: Caller,
        *,
        org_id: str | None = None,
        team_id: str | None = None,
        user_id: str | None = None,
        include_revoked: bool = False,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Listing[KeyView]:
        """Keys in creation order, a page at a time (revoked keys only with ``include_revoked``)."""
        return await svc().keys.list(
            caller,
            org_id=org_id,
            team_id=team_id,
            user_id=user_id,
            include_revoked=include_revoked,
            limit=limit,
            offset=offset,
        )

    @router.get("/keys/{key_id}", tags=["keys"])
    async def get_key(caller: Caller, key_id: str) -> KeyView:
        """One key, with ``spend``: the USD its requests cost, from the spend log."""
        return await svc().keys.get(caller, key_id)

    @router.patch("/keys/{key_id}", tags=["keys"])
    async def update_key(caller: Caller, key_id: str, body: KeyInput) -> KeyView:
        """Change the fields given (``null`` clears one)."""
        return await svc().keys.update(caller, key_id, body)

    @router.delete("/keys/{key_id}", tags=["keys"])
    async def revoke_key(caller: Caller, key_id: str) -> KeyView:
        """Revoke the key: refused from now on (the row stays, for its spend and audit history)."""
        return await svc().keys.revoke(caller, key_id)

    @router.post("/keys/{key_id}/rotate", status_code=201, tags=["keys"])
    async def rotate_key(caller: Caller, key_id: str, body: KeyRotate | None = None) -> KeyCreated:
        """Replace the key by a new one with the same owners and limits (shown once). The old key
        keeps working for ``grace_period`` (e.g. ``"24h"``; default none), then is revoked."""
        return await svc().keys.rotate(caller, key_id, body or KeyRotate())


def _org_team_routes(router: APIRouter, actor: ActorDep, svc: Svc) -> None:
    Caller = Annotated[Actor, Depends(actor)]

    @router.post("/orgs", status_code=201, tags=["organizations"])
    async def create_org(caller: Caller, body: OrgInput) -> OrgView:
        """Make an organization (master key only)."""
        return await svc().hierarchy.create_org(caller, body)

    @router.get("/orgs", tags=["organizations"])
    async def list_orgs(caller: Caller, limit: Limit = 100, offset: Offset = 0) -> Listing[OrgView]:
        return await svc().hierarchy.list_orgs(caller, limit=limit, offset=offset)

    @router.get("/orgs/{org_id}", tags=["organizations"])
    async def get_org(caller: Caller, org_id: str) -> OrgView:
        return await svc().hierarchy.get_org(caller, org_id)

    @router.patch("/orgs/{org_id}", tags=["organizations"])
    async def update_org(caller: Caller, org_id: str, body: OrgInput) -> OrgView:
        return await svc().hierarchy.update_org(caller, org_id, body)

    @router.delete("/orgs/{org_id}", status_code=204, tags=["organizations"])
    async def delete_org(caller: Caller, org_id: str) -> Response:
        """Delete an organization that owns nothing any more (409 otherwise)."""
        await svc().hierarchy.delete_org(caller, org_id)
        return Response(status_code=204)

    @router.post("/teams", status_code=201, tags=["teams"])
    async def create_team(caller: Caller, body: TeamInput) -> TeamView:
        return await svc().hierarchy.create_team(caller, body)

    @router.get("/teams", tags=["teams"])
    async def list_teams(
        caller: Caller, org_id: str | None = None, limit: Limit = 100, offset: Offset = 0
    ) -> Listing[TeamView]:
        return await svc().hierarchy.list_teams(caller, org_id=org_id, limit=limit, offset=offset)

    @router.get("/teams/{team_id}", tags=["teams"])
    async def get_team(caller: Caller, team_id: str) -> TeamView:
        return await svc().hierarchy.get_team(caller, team_id)

    @router.patch("/teams/{team_id}", tags=["teams"])
    async def update_team(caller: Caller, team_id: str, body: TeamInput) -> TeamView:
        return await svc().hierarchy.update_team(caller, team_id, body)

    @router.delete("/teams/{team_id}", status_code=204, tags=["teams"])
    async def delete_team(caller: Caller, team_id: str) -> Response:
        """Delete a team that owns no keys or users any more (409 otherwise)."""
        await svc().hierarchy.delete_team(caller, team_id)
        return Response(status_code=204)


def _user_routes(router: APIRouter, actor: ActorDep, svc: Svc) -> None:
    Caller = Annotated[Actor, Depends(actor)]

    @router.post("/users", status_code=201, tags=["users"])
    async def create_user(caller: Caller, body: UserInput) -> UserView:
        """Make a user (``role``: member, team_admin or org_admin)."""
        return await svc().hierarchy.create_user(caller, body)

    @router.get("/users", tags=["users"])
    async def list_users(
        caller: Caller,
        *,
        org_id: str | None = None,
        team_id: str | None = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Listing[UserView]:
        return await svc().hierarchy.list_users(
            caller, org_id=org_id, team_id=team_id, limit=limit, offset=offset
        )

    @router.get("/users/{user_id}", tags=["users"])
    async def get_user(caller: Caller, user_id: str) -> UserView:
        return await svc().hierarchy.get_user(caller, user_id)

    @router.patch("/users/{user_id}", tags=["users"])
    async def update_user(caller: Caller, user_id: str, body: UserInput) -> UserView:
        return await svc().hierarchy.update_user(caller, user_id, body)

    @router.delete("/users/{user_id}", status_code=204, tags=["users"])
    async def delete_user(caller: Caller, user_id: str) -> Response:
        await svc().hierarchy.delete_user(caller, user_id)
        return Response(status_code=204)

    @router.post("/end_users", status_code=201, tags=["end-users"])
    async def create_end_user(caller: Caller, body: EndUserInput) -> EndUserView:
        """Give limits to (or block) an end-user: the value clients send as the request's ``user``."""
        return await svc().hierarchy.create_end_user(caller, body)

    @router.get("/end_users", tags=["end-users"])
    async def list_end_users(caller: Caller, limit: Limit = 100, offset: Offset = 0) -> Listing[EndUserView]:
        return await svc().hierarchy.list_end_users(caller, limit=limit, offset=offset)

    @router.get("/end_users/{end_user_id}", tags=["end-users"])
    async def get_end_user(caller: Caller, end_user_id: str) -> EndUserView:
        return await svc().hierarchy.get_end_user(caller, end_user_id)

    @router.patch("/end_users/{end_user_id}", tags=["end-users"])
    async def update_end_user(caller: Caller, end_user_id: str, body: EndUserInput) -> EndUserView:
        return await svc().hierarchy.update_end_user(caller, end_user_id, body)

    @router.delete("/end_users/{end_user_id}", status_code=204, tags=["end-users"])
    async def delete_end_user(caller: Caller, end_user_id: str) -> Response:
        await svc().hierarchy.delete_end_user(caller, end_user_id)
        return Response(status_code=204)


def _report_routes(router: APIRouter, actor: ActorDep, svc: Svc) -> None:
    Caller = Annotated[Actor, Depends(actor)]

    @router.get("/spend", tags=["spend"])
    async def spend(
        caller: Caller,
        *,
        group_by: Literal["key", "user", "team", "org", "model", "tag", "day"] = "key",
        start: date | None = None,
        end: date | None = None,
        key_id: str | None = None,
        user_id: str | None = None,
        team_id: str | None = None,
        org_id: str | None = None,
        model: str | None = None,
        tag: str | None = None,
    ) -> SpendReport:
        """Spend per key, user, team, org, model, tag or day over the UTC days ``start`` to ``end``
        (both included; default: this month). By tag, a request with two tags counts under each."""
        filters: dict[str, Any] = {
            "key_id": key_id,
            "user_id": user_id,
            "team_id": team_id,
            "org_id": org_id,
            "model": model,
            "tag": tag,
        }
        return await svc().reports.spend(caller, group_by, start, end, **filters)

    @router.get("/requests", tags=["spend"])
    async def requests(
        caller: Caller,
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
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: str | None = None,
    ) -> RequestPage:
        """The request log, newest first; ``next_cursor`` asks for the next page."""
        return await svc().reports.requests(
            caller,
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

    @router.get("/requests/{request_id}/payload", tags=["spend"])
    async def payload(caller: Caller, request_id: str) -> PayloadView:
        """A request's logged prompt and answer (observability.payloads); 404 when none was logged."""
        return await svc().reports.payload(caller, request_id)

    @router.get("/budgets/{kind}/{scope_id}", tags=["spend"])
    async def budget(caller: Caller, kind: BudgetKind, scope_id: str) -> BudgetView:
        """A key's, user's, team's, org's or end-user's limits and its budget counters per period."""
        return await svc().reports.budget(caller, kind, scope_id)

    @router.get("/audit", tags=["audit"])
    async def audit(
        caller: Caller,
        *,
        object_kind: BudgetKind | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        limit: Limit = 100,
        before_id: int | None = None,
    ) -> AuditPage:
        """Who changed what, newest first (``actor``: a key id, ``master`` or ``cli``)."""
        return await svc().reports.audit(
            caller, object_kind=object_kind, object_id=object_id, by=actor, limit=limit, before_id=before_id
        )
