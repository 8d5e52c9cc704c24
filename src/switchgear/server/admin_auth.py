"""What the admin app needs whether or not governance is served: reading the bearer token, and the
answer of the governance paths when governance is off (or on without a database)."""

from __future__ import annotations

from fastapi import APIRouter

from switchgear.core.errors import GatewayError, NotFound

GOVERNANCE_OFF = (
    "governance is off: set server.master_key (and leave governance.enabled unset or true) to manage "
    "keys, budgets and spend"
)
NOT_CONNECTED = "governance is on, but this gateway's admin API has no governance database connected"
SECTIONS = ("keys", "orgs", "teams", "users", "end_users", "spend", "requests", "budgets", "audit")
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def bearer_token(authorization: str | None, x_api_key: str | None) -> bytes | None:
    """``Authorization: Bearer <token>``, else ``x-api-key: <token>``."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip().encode("latin-1")
    return x_api_key.encode("latin-1") if x_api_key else None


def absent_router(*, on: bool) -> APIRouter:
    """The governance paths when they cannot be served: 404 ``governance_off``, or 503
    ``governance_unavailable`` when governance is on but no database was given."""
    router = APIRouter(prefix="/admin", include_in_schema=False)

    async def refuse() -> None:
        if on:
            raise GatewayError(NOT_CONNECTED, status=503, code="governance_unavailable")
        raise NotFound(GOVERNANCE_OFF, code="governance_off")

    for section in SECTIONS:
        router.add_api_route(f"/{section}", refuse, methods=METHODS)
        router.add_api_route(f"/{section}/{{rest:path}}", refuse, methods=METHODS)
    return router
