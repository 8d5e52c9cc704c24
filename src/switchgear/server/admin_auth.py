"""What the admin app needs whether or not governance is served: reading the bearer token, and the
answer of the governance paths when governance is off (or on without a database)."""

from __future__ import annotations

from fastapi import APIRouter

from switchgear.core.errors import NotFound

GOVERNANCE_OFF = (
    "governance is off: set server.master_key (and leave governance.enabled unset or true) to manage "
    "keys, budgets and spend"
)
SECTIONS = ("keys", "orgs", "teams", "users", "end_users", "spend", "requests", "budgets", "audit")
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def bearer_token(authorization: str | None, x_api_key: str | None) -> bytes | None:
    """``Authorization: Bearer <token>``, else ``x-api-key: <token>``."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip().encode("latin-1")
    return x_api_key.encode("latin-1") if x_api_key else None


def absent_router() -> APIRouter:
    """The governance paths when governance is off: 404 ``governance_off``."""
    router = APIRouter(prefix="/admin", include_in_schema=False)

    async def refuse() -> None:
        raise NotFound(GOVERNANCE_OFF, code="governance_off")

    for section in SECTIONS:
        router.add_api_route(f"/{section}", refuse, methods=METHODS)
        router.add_api_route(f"/{section}/{{rest:path}}", refuse, methods=METHODS)
    return router
