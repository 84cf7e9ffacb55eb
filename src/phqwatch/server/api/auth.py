"""Login (OAuth2 password flow -> bearer token), cookie sessions for pages, and `me`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from phqwatch.server.auth import (
    SESSION_COOKIE,
    AuthError,
    Principal,
    authenticate,
    client_ip,
    csrf_token,
    issue_token,
    verify_password,
)
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import get_ctx
from phqwatch.server.schemas import MeOut, TokenOut
from phqwatch.store import people
from phqwatch.store.tables import Person

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def login(ctx: ServerContext, username: str, password: str, ip: str) -> Person:
    """Check the rate limit and the password; the Person on success, AuthError otherwise."""
    ctx.limiter.check(username, ip)
    with ctx.db.read() as s:
        person = people.person_by_username(s, username)
        ok = verify_password(person.password_hash if person else None, password)
        if person is None or not ok or not person.active or person.role == "service":
            raise AuthError("Wrong username or password.", fix="Check both; attempts are rate-limited.")
        return person


def set_session_cookie(response: Response, ctx: ServerContext, token: str) -> str:
    """Set the HttpOnly, SameSite=Lax session cookie (Secure in production); returns its CSRF token."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.settings.token_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.production,
        path="/",
    )
    return csrf_token(ctx.settings.secret_key.get_secret_value(), token)


@router.post("/token", response_model=TokenOut, summary="Log in (OAuth2 password flow) and get a bearer token")
def token(request: Request, form: OAuth2PasswordRequestForm = Depends(), ctx: ServerContext = Depends(get_ctx)):
    person = login(ctx, form.username, form.password, client_ip(request))
    return TokenOut(
        access_token=issue_token(ctx.settings.secret_key.get_secret_value(), person),
        expires_in=ctx.settings.token_ttl_minutes * 60,
        role=person.role,
    )


@router.post("/session", summary="Log in for browser pages: sets the session cookie, returns the CSRF token")
def session_login(
    request: Request,
    response: Response,
    form: OAuth2PasswordRequestForm = Depends(),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    person = login(ctx, form.username, form.password, client_ip(request))
    tok = issue_token(ctx.settings.secret_key.get_secret_value(), person)
    return {"csrf_token": set_session_cookie(response, ctx, tok), "role": person.role}


@router.post("/logout", summary="Clear the session cookie")
def logout(response: Response) -> dict:
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/me", response_model=MeOut, summary="Who am I")
def me(principal: Principal = Depends(authenticate), ctx: ServerContext = Depends(get_ctx)):
    with ctx.db.read() as s:
        p = people.get_person(s, principal.person_id)
        return MeOut(
            id=p.id,
            organisation_id=p.organisation_id,
            role=p.role,
            username=p.username,
            display_name=p.display_name,
            linked_patient_id=p.linked_patient_id,
        )
