"""The admin API (FastAPI, under ``/admin``), with its OpenAPI docs at ``/admin/docs`` served
from files inside the installed packages (no CDN: the docs page works air-gapped).

``/admin/status`` takes the master key as ``Authorization: Bearer`` (or ``x-api-key``); a gateway
without a master key serves it to anyone who can reach it, as it does the model APIs. The
governance routes (``admin_governance``) take the master key or a scoped admin key, and answer
``governance_off`` when the gateway runs without governance. Every error, a validation error too,
has the OpenAI error shape and names the field at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from switchgear import __version__
from switchgear.cache import ExactCache
from switchgear.cache.backends import MemoryBackend
from switchgear.core.errors import (
    GatewayError,
    InvalidJSON,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
)
from switchgear.engine.build import Runtime
from switchgear.engine.models_view import deployments_view
from switchgear.server.admin_auth import absent_router, bearer_token
from switchgear.server.errors import openai_error_body
from switchgear.stages.base import HOOKS, overrides
from switchgear.stages.settle import SettleStats


class StageInfo(BaseModel):
    name: str
    hooks: list[str]
    reads_request: bool
    reads_answer: bool


class CacheStatus(BaseModel):
    """The exact cache in this worker: its counters since start (``saved_nanousd``: what the hits
    would have cost) and, with the memory backend, its entries and their bytes."""

    backend: str
    hits: int
    misses: int
    bypasses: int
    stored: int
    too_large: int
    unreadable: int
    saved_nanousd: int
    entries: int | None
    bytes: int | None
    # the semantic lookup (None when it is off): hits, lookups that found nothing, entries held
    semantic_hits: int | None = None
    semantic_misses: int | None = None
    semantic_entries: int | None = None


class Status(BaseModel):
    version: str
    stages: list[StageInfo]
    settle_queues: list[SettleStats]
    cache: CacheStatus | None = None


def cache_status(stages: Sequence[object]) -> CacheStatus | None:
    stage = next((s for s in stages if isinstance(s, ExactCache)), None)
    if stage is None:
        return None
    stats, backend = stage.stats, stage.backend
    memory = backend if isinstance(backend, MemoryBackend) else None
    return CacheStatus(
        backend="memory" if memory is not None else "redis",
        hits=stats.hits,
        misses=stats.misses,
        bypasses=stats.bypasses,
        stored=stats.stored,
        too_large=stats.too_large,
        unreadable=stats.unreadable,
        saved_nanousd=stats.saved_nanousd,
        entries=len(memory) if memory is not None else None,
        bytes=memory.bytes if memory is not None else None,
        semantic_hits=stats.semantic_hits if stage.semantic is not None else None,
        semantic_misses=stats.semantic_misses if stage.semantic is not None else None,
        semantic_entries=len(stage.semantic.index) if stage.semantic is not None else None,
    )


if TYPE_CHECKING:
    from switchgear.keys.admin import AdminService

log = logging.getLogger("switchgear.admin")


def _error(exc: GatewayError) -> Response:
    return Response(
        openai_error_body(exc),
        status_code=exc.status,
        headers=dict(exc.headers),
        media_type="application/json",
    )


def _invalid(exc: RequestValidationError) -> GatewayError:
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return InvalidJSON("the body is not valid JSON: send a JSON object")
    where = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    field = ".".join(where) or None
    message = str(first.get("msg", "invalid request"))
    if first.get("type") == "extra_forbidden":
        message = "unknown field"
    elif first.get("type") == "missing" and field is None:
        message = "a JSON object body is required"
    return InvalidRequest(
        f"{field}: {message}" if field else message, param=field, status=422, code="invalid_value"
    )


def build_admin(runtime: Runtime, service: AdminService | None = None) -> FastAPI:
    """The admin app; ``service`` (the database and change feed of governance) serves the
    governance routes, which are off without it or when governance is off."""
    app = FastAPIOffline(
        title="switchgear admin",
        version=__version__,
        docs_url="/admin/docs",
        redoc_url=None,
        openapi_url="/admin/openapi.json",
        static_url="/admin/static-docs",
        redirect_slashes=False,
    )

    governance = service if runtime.settings.governance_on else None
    if governance is not None:
        from switchgear.server.admin_governance import governance_router

        app.include_router(governance_router(governance))
    else:
        app.include_router(absent_router())

    async def admin(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        if governance is not None:  # virtual keys are known: a plain or scoped one is refused (403)
            if not (await governance.actor(bearer_token(authorization, x_api_key))).is_master:
                raise PermissionDenied("this route needs the master key")
            return
        principal = runtime.auth.authenticate(
            authorization.encode("latin-1") if authorization else None,
            x_api_key.encode("latin-1") if x_api_key else None,
        )
        if runtime.auth.required and not principal.is_admin:
            raise PermissionDenied("this route needs the master key")

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _error(_invalid(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 405:
            return _error(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"))
        if exc.status_code == 404:
            return _error(NotFound(f"no route {where}", code="route_not_found"))
        return _error(GatewayError(str(exc.detail), status=exc.status_code))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        log.error("admin %s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(GatewayError("the admin operation failed; the gateway log has the reason", status=500))

    @app.get("/admin/status", dependencies=[Depends(admin)])
    async def status() -> Status:
        """The stages this worker runs, in order, and its settle queues (bound, policy, depth)."""
        chain = runtime.engine.chain
        return Status(
            version=__version__,
            stages=[
                StageInfo(
                    name=stage.name,
                    hooks=[hook for hook in HOOKS if overrides(stage, hook)],
                    reads_request=stage.reads_request,
                    reads_answer=stage.reads_answer,
                )
                for stage in chain.stages
            ],
            settle_queues=chain.stats(),
            cache=cache_status(chain.stages),
        )

    @app.get("/health/deployments", dependencies=[Depends(admin)])
    async def deployments() -> dict[str, Any]:
        """Every configured model's deployments: breaker state, seconds until usable again,
        in-flight requests, latency averages, failures in a row, successes, errors, times opened;
        and the retry budget."""
        return deployments_view(runtime.router)

    return app
