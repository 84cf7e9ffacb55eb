"""The JSON API (/api/v1): one router per module; `routers` lists them in the order the app mounts them."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from phqwatch.server.api import (
        admin,
        alerts,
        auth,
        conversations,
        export,
        health,
        ingest,
        notifications,
        patients,
        reports,
    )

    return [
        health.router,
        auth.router,
        ingest.router,
        patients.router,
        reports.router,
        alerts.router,
        export.router,
        admin.router,
        notifications.router,
        conversations.router,
    ]
