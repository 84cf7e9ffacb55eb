"""`create_app(settings) -> FastAPI`: the JSON API (and, when present, the dashboard pages)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from phqwatch import __version__
from phqwatch.config import Settings
from phqwatch.errors import StoreError
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import bounded_ints
from phqwatch.server.http_errors import BodySizeLimit, install_error_handlers
from phqwatch.server.openapi_doc import declare_errors
from phqwatch.server.rate_limits import LoginLimiter
from phqwatch.store import Database, TextCipher, current_revision, head_revision, upgrade

log = logging.getLogger("phqwatch.server")

DESCRIPTION = """Passive PHQ-9 monitoring. Every estimate is decision support from conversation text,
never an administered score or a diagnosis. Every incoming user message is screened for self-harm risk
at once; a hit opens an urgent alert for the care team and the response carries crisis resources."""


def create_app(
    settings: Settings | None = None,
    *,
    worker: bool = False,
    model: Any = None,
    migrate: bool | None = None,
    pages: bool = True,
) -> FastAPI:
    """Build the app.

    worker: run the re-estimation worker in a thread of this process (the SQLite demo); otherwise run
        `phqwatch worker` processes. model: an estimator to use instead of loading settings.model_dir.
    migrate: run migrations at start (default: only for SQLite; PostgreSQL needs `phqwatch db upgrade`).
    pages: mount the dashboard pages (False: the JSON API only).
    """
    settings = settings or Settings()
    settings.check_production()
    db = Database.from_url(settings.database_url)
    if migrate is None:
        migrate = db.dialect == "sqlite"
    if migrate:
        upgrade(settings.database_url)
    elif current_revision(settings.database_url, engine=db.engine) != head_revision():
        raise StoreError(
            "The database schema is not up to date.", fix="Run `phqwatch db upgrade` with the same database URL."
        )
    ctx = ServerContext(
        settings=settings,
        db=db,
        cipher=TextCipher(settings.encryption_key.get_secret_value()),
        limiter=LoginLimiter(db, settings),
    )
    if worker:
        from phqwatch.server.worker import Worker

        ctx.worker = Worker(settings, db, ctx.cipher, model=model, wake=ctx.job_signal, screen=ctx.crisis_screen)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if ctx.worker is not None:
            ctx.worker.start_thread()
        try:
            yield
        finally:
            if ctx.worker is not None:
                ctx.worker.stop()
            db.dispose()

    app = FastAPI(
        dependencies=[Depends(bounded_ints)],
        title="phqwatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    from phqwatch.server import api

    for r in api.routers():
        app.include_router(r)
    if pages:
        from phqwatch.server import pages as page_routes

        for r in page_routes.routers():
            app.include_router(r)
    declare_errors(app)
    return app
