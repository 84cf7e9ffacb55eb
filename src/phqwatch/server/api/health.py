"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text

from phqwatch import __version__
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import get_ctx
from phqwatch.server.schemas import HealthOut

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health", response_model=HealthOut, summary="Service and database status (no auth)")
def health(ctx: ServerContext = Depends(get_ctx)) -> dict:
    with ctx.db.read() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": ctx.db.dialect, "worker": ctx.worker is not None}
