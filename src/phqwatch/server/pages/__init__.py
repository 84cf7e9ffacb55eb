"""Dashboard pages (server-rendered Jinja2, a little JS, Chart.js served from static/vendor).

Every page has a JSON twin at the same path with `.json` (or when the request sends
`Accept: application/json`). Pages authenticate with the HttpOnly session cookie set by `/login`; every
form carries a CSRF token bound to that cookie.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Page routers to mount after the JSON API."""
    from phqwatch.server.pages import chat, routes

    return [routes.router, chat.router]
