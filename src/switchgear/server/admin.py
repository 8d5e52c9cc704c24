"""The admin API (FastAPI, under ``/admin``), with its OpenAPI docs at ``/admin/docs`` served
from files inside the installed packages (no CDN: the docs page works air-gapped).

Every route takes the master key as ``Authorization: Bearer`` (or ``x-api-key``); a gateway
without a master key serves them to anyone who can reach it, as it does the model APIs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from switchgear import __version__
from switchgear.core.errors import GatewayError, PermissionDenied
from switchgear.engine.build import Runtime
from switchgear.server.errors import openai_error_body
from switchgear.stages.base import HOOKS, overrides
from switchgear.stages.settle import SettleStats


class StageInfo(BaseModel):
    name: str
    hooks: list[str]
    reads_request: bool
    reads_answer: bool


class Status(BaseModel):
    version: str
    stages: list[StageInfo]
    settle_queues: list[SettleStats]


def build_admin(runtime: Runtime) -> FastAPI:
    app = FastAPIOffline(
        title="switchgear admin",
        version=__version__,
        docs_url="/admin/docs",
        redoc_url=None,
        openapi_url="/admin/openapi.json",
        static_url="/admin/static-docs",
    )

    def admin(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        principal = runtime.auth.authenticate(
            authorization.encode("latin-1") if authorization else None,
            x_api_key.encode("latin-1") if x_api_key else None,
        )
        if runtime.auth.required and not principal.is_admin:
            raise PermissionDenied("this route needs the master key")

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return Response(
            openai_error_body(exc),
            status_code=exc.status,
            headers=dict(exc.headers),
            media_type="application/json",
        )

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
        )

    return app
