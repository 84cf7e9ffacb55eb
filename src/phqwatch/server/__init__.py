"""The service: `create_app(settings)` composes store + models + monitoring + reports behind a JSON API
(and the dashboard pages). FastAPI and friends are the `server` extra, imported only here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    """See phqwatch.server.app.create_app."""
    from phqwatch.server.app import create_app as _create_app

    return _create_app(*args, **kwargs)
