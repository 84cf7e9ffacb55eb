"""Rendering: one Jinja2 environment, and `respond` that returns HTML or the page's JSON twin."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

if TYPE_CHECKING:
    from jinja2 import Environment

SERVER_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = SERVER_DIR / "templates"
STATIC_DIR = SERVER_DIR / "static"


def _fmt(v: Any, digits: int = 1) -> str:
    return "n/a" if v is None else f"{float(v):.{digits}f}"


def _date(v: str | None) -> str:
    if not v:
        return "never"
    try:
        return datetime.fromisoformat(v).strftime("%Y-%m-%d")
    except ValueError:
        return v


def _datetime(v: str | None) -> str:
    if not v:
        return ""
    try:
        return datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return v


@lru_cache(maxsize=1)
def env() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    e = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters["fmt"] = _fmt
    e.filters["date"] = _date
    e.filters["datetime"] = _datetime
    e.filters["tojson_safe"] = lambda v: (
        json.dumps(v).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
    return e


def wants_json(request: Request, json_suffix: bool) -> bool:
    if json_suffix:
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def html(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    body = env().get_template(template).render(**context)
    return HTMLResponse(
        body,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        },
    )


def respond(request: Request, json_suffix: bool, template: str, data: dict[str, Any], **context: Any) -> Response:
    """The page's JSON twin (the data dict) or its HTML rendering."""
    if wants_json(request, json_suffix):
        return JSONResponse(data, headers={"Cache-Control": "no-store"})
    return html(template, data=data, **context)
