"""Login (OAuth2 password flow -> bearer token), cookie sessions for pages, and `me`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from phqwatch.server.auth import (
    SESSION_COOKIE,
    AuthError,
    Principal,
    authenticate,
    check_same_origin,
    client_ip,
    csrf_token,
    hash_password,
    issue_token,
    oauth2_scheme,
    read_token,
    token_person,
    verify_password,
)
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import get_ctx
from phqwatch.server.http_errors import error_responses
from phqwatch.server.rate_limits import Attempt
from phqwatch.server.schemas import MeOut, OkOut, PasswordChangeIn, SessionOut, TokenOut
from phqwatch.store import people
from phqwatch.store.tables import Person

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def login(ctx: ServerContext, username: str, password: str, ip: str) -> Person:
    """Check the rate limits and the password, and audit the attempt; the Person on success, else AuthError
    (RateLimitedError while a limit is reached: the password is then not checked at all)."""
    attempt = Attempt("password", ip, username)
    ctx.limiter.check(attempt)
    with ctx.db.read() as s:
        person = people.person_by_username(s, username)
        ok = verify_password(person.password_hash if person else None, password)
    ok = ok and person is not None and person.active and person.role != "service"
    ctx.limiter.record(attempt, person, ok)
    if not ok or person is None:
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


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Log in (OAuth2 password flow) and get a bearer token",
    responses=error_responses(401, 429),
)
def token(request: Request, form: OAuth2PasswordRequestForm = Depends(), ctx: ServerContext = Depends(get_ctx)):
    person = login(ctx, form.username, form.password, client_ip(request))
    return TokenOut(
        access_token=issue_token(ctx.settings.secret_key.get_secret_value(), person),
        expires_in=ctx.settings.token_ttl_minutes * 60,
        role=person.role,
    )


@router.post(
    "/session",
    response_model=SessionOut,
    summary="Log in for browser pages: sets the session cookie, returns the CSRF token",
    responses=error_responses(401, 403, 429),
)
def session_login(
    request: Request,
    response: Response,
    form: OAuth2PasswordRequestForm = Depends(),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    check_same_origin(request)  # login CSRF: a foreign site must not sign the browser in
    person = login(ctx, form.username, form.password, client_ip(request))
    tok = issue_token(ctx.settings.secret_key.get_secret_value(), person)
    return {"csrf_token": set_session_cookie(response, ctx, tok), "role": person.role}


def revoke_presented(ctx: ServerContext, token: str | None) -> None:
    """Revoke every token and session of the person behind `token` (if it is still valid)."""
    if not token:
        return
    try:
        claims = read_token(ctx.settings.secret_key.get_secret_value(), token, ctx.settings.token_ttl_minutes * 60)
    except AuthError:
        return
    with ctx.db.write() as s:
        person = token_person(s, claims)
        if person is not None:
            people.revoke_sessions(s, person.id)


@router.post(
    "/logout",
    response_model=OkOut,
    summary="Log out everywhere: revoke every token and session of the caller, clear the cookie",
)
def logout(
    request: Request,
    response: Response,
    bearer: str | None = Depends(oauth2_scheme),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    revoke_presented(ctx, bearer or request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.post(
    "/password",
    response_model=OkOut,
    summary="Change the caller's password; every token and session of theirs is revoked",
)
def change_password(
    request: Request,
    response: Response,
    body: PasswordChangeIn,
    principal: Principal = Depends(authenticate),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    if principal.username is None:
        raise AuthError("This account has no password.", fix="Service accounts use API keys.")
    attempt = Attempt("password", principal.ip or client_ip(request), principal.username)
    ctx.limiter.check(attempt)
    with ctx.db.read() as s:
        person = people.get_person(s, principal.person_id)
    ok = verify_password(person.password_hash, body.current_password)
    ctx.limiter.record(attempt, person, ok)
    if not ok:
        raise AuthError("The current password is wrong.", fix="Check it; attempts are rate-limited.")
    with ctx.db.write() as s:
        people.set_password(s, person.id, hash_password(body.new_password))
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
