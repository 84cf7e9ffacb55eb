"""Page sessions: the caller from the session cookie, CSRF tokens for forms, and the login CSRF cookie."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from phqwatch.errors import PermissionDeniedError
from phqwatch.server.auth import (
    SESSION_COOKIE,
    AuthError,
    Principal,
    client_ip,
    csrf_token,
    read_token,
    token_person,
)

LOGIN_CSRF_COOKIE = "phqwatch_login_csrf"
CSRF_FIELD = "csrf_token"


def page_principal(request: Request) -> Principal | None:
    """The signed-in person from the session cookie, or None (no cookie, expired, inactive)."""
    ctx = request.app.state.ctx
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = read_token(ctx.settings.secret_key.get_secret_value(), token, ctx.settings.token_ttl_minutes * 60)
    except AuthError:
        return None
    with ctx.db.read() as s:
        person = token_person(s, claims)
        if person is None:
            return None
        who = Principal.of(person, "cookie", client_ip(request), token)
    request.state.principal = who  # the actor of a denial's audit row
    return who


def page_csrf(request: Request, who: Principal) -> str:
    """The CSRF token the page puts in every form (bound to the session cookie)."""
    return csrf_token(request.app.state.ctx.settings.secret_key.get_secret_value(), who.session_token or "")


def check_csrf(request: Request, who: Principal, sent: str | None) -> None:
    """Refuse a state-changing request without the session's CSRF token (form field or X-CSRF-Token)."""
    sent = sent or request.headers.get("x-csrf-token")
    if not sent or not hmac.compare_digest(sent, page_csrf(request, who)):
        raise PermissionDeniedError("Missing or wrong CSRF token.", fix="Reload the page and submit the form again.")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def check_login_csrf(request: Request, sent: str | None) -> None:
    """Login forms use a double-submit token: the form field must equal the pre-login cookie."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not sent or not cookie or not hmac.compare_digest(sent, cookie):
        raise PermissionDeniedError("Missing or wrong CSRF token.", fix="Reload the login page and try again.")
