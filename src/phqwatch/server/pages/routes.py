"""Page routes. HTML for browsers, and the same data as JSON at `<path>.json` or with Accept: application/json.

URLs
  GET  /login, POST /login, POST /logout
  GET  /                                         -> the caller's start page
  GET  /caseload[.json]?sort=&band=&alerts=1&q=  clinician caseload
  GET  /patients/{id}[.json]                     patient page (timeline, alerts, conversations, report)
  GET  /patients/{id}/conversations/{cid}[.json] one conversation (never for family members)
  GET  /patients/{id}/monthly[.json]?month=YYYY-MM  monthly analysis
  POST /patients/{id}/reports                    draft a report from the latest estimate
  GET  /patients/{id}/reports/{rid}[.json]       a report (editors: latest; others: released)
  POST /patients/{id}/reports/{rid}/edit         clinician edit (new version)
  POST /patients/{id}/reports/{rid}/release      release the latest version
  GET  /patients/{id}/reports/{rid}.pdf          PDF (editors: the latest version; others: the released one)
  GET  /me[.json]                                patient view
  GET  /family[.json]                            family view
  GET  /static/{path}                            CSS, JS and the vendored Chart.js

Over 400 lines because it is the table of every page route above, each a few lines over the shared services
(`server/services`); the data and the workflow live there, not here.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from phqwatch import phq9
from phqwatch.errors import PermissionDeniedError, PhqwatchError
from phqwatch.safety.resources import crisis_resources
from phqwatch.server.api.views import pdf_attachment
from phqwatch.server.auth import SESSION_COOKIE, AuthError, Principal, RateLimitedError, client_ip, issue_token
from phqwatch.server.http_errors import error_headers, log_server_error, record_denial, status_of
from phqwatch.server.pages import data
from phqwatch.server.pages.render import STATIC_DIR, html, respond, wants_json
from phqwatch.server.pages.session import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    check_csrf,
    check_login_csrf,
    new_login_csrf,
    page_csrf,
    page_principal,
)
from phqwatch.server.services import caseload as caseload_service
from phqwatch.server.services import patient_record, report_workflow

if TYPE_CHECKING:
    from phqwatch.server.context import ServerContext

router = APIRouter(include_in_schema=False)

HOME = {"clinician": "/caseload", "admin": "/caseload", "patient": "/me", "family": "/family"}


def _ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


def run_page(
    request: Request, json_suffix: bool, build: Callable[[Principal], Any], roles: tuple[str, ...] | None = None
) -> Response:
    """Run `build(principal)` with the session's caller; login redirect, and HTML or JSON errors."""
    who = page_principal(request)
    if who is None:
        if wants_json(request, json_suffix):
            raise AuthError("Not signed in.", fix="Sign in at /login (or use the JSON API with a bearer token).")
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(nxt)}", status_code=303)
    try:
        if roles is not None and who.role not in roles:
            raise PermissionDeniedError(f"The '{who.role}' role may not open this page.", fix="Go to your start page.")
        return build(who)
    except PhqwatchError as exc:
        if wants_json(request, json_suffix):
            raise  # the app's error handler answers, as it does for the API
        status = status_of(exc)  # the API's mapping: a store that is down is 503 here too
        log_server_error(request, exc, status)
        if status in (403, 404):
            record_denial(request, exc, status)
        resp = html(
            "error.html",
            status_code=status,
            who=who,
            status=status,
            message=exc.message,
            fix=exc.fix,
            home=HOME.get(who.role, "/"),
            csrf=page_csrf(request, who),
        )
        resp.headers.update(error_headers(exc, status))
        return resp


def page_context(request: Request, who: Principal, **extra: Any) -> dict[str, Any]:
    """What every page template receives: the caller, CSRF token, start page, bands and crisis text."""
    return {
        "who": who,
        "csrf": page_csrf(request, who),
        "home": HOME.get(who.role, "/"),
        "bands": phq9.BANDS,
        "crisis_text": crisis_resources(_ctx(request).settings.crisis_locale, _ctx(request).settings.crisis_text),
        **extra,
    }


def _safe_next(nxt: str | None, fallback: str) -> str:
    if nxt and nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return fallback


# ------------------------------------------------------------------------------------------- login
@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    token = new_login_csrf()
    resp = html("login.html", csrf=token, next=_safe_next(next, ""), error=None, who=None)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=_ctx(request).settings.production,
        max_age=3600,
    )
    return resp


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form("", alias=CSRF_FIELD),
    next: str = Form(""),
) -> Response:
    from phqwatch.server.api.auth import login, set_session_cookie

    ctx = _ctx(request)
    try:
        check_login_csrf(request, csrf_token)
        person = login(ctx, username, password, client_ip(request))
    except (AuthError, RateLimitedError, PermissionDeniedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 403 if isinstance(exc, PermissionDeniedError) else 401
        if status == 403:
            record_denial(request, exc, status)
        token = new_login_csrf()
        resp: Response = html(
            "login.html", status_code=status, csrf=token, next=_safe_next(next, ""), error=exc.message, who=None
        )
        resp.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            path="/login",
            secure=ctx.settings.production,
            max_age=3600,
        )
        if isinstance(exc, RateLimitedError):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    resp = RedirectResponse(_safe_next(next, HOME.get(person.role, "/")), status_code=303)
    set_session_cookie(resp, ctx, issue_token(ctx.settings.secret_key.get_secret_value(), person))
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", alias=CSRF_FIELD)) -> Response:
    from phqwatch.server.api.auth import revoke_presented

    who = page_principal(request)
    if who is not None:
        check_csrf(request, who, csrf_token)
        revoke_presented(_ctx(request), who.session_token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/")
def start(request: Request) -> Response:
    who = page_principal(request)
    return RedirectResponse(HOME.get(who.role, "/login") if who else "/login", status_code=303)


# ------------------------------------------------------------------------------------------ caseload
def _caseload(
    request: Request, json_suffix: bool, sort: str, band: str | None, alerts: str | None, q: str | None, page: int
):
    def build(who: Principal) -> Response:
        with _ctx(request).db.write() as s:
            d = caseload_service.caseload(
                s, who, sort=sort, band=band or None, alerts_only=alerts in ("1", "on", "true"), q=q, page=page
            )
        extra = page_context(request, who, q=q or "", sorts=caseload_service.SORTS)
        return respond(request, json_suffix, "caseload.html", d, **extra)

    return run_page(request, json_suffix, build, ("clinician", "admin"))


@router.get("/caseload")
def caseload(
    request: Request,
    sort: str = "priority",
    band: str | None = None,
    alerts: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> Response:
    return _caseload(request, False, sort, band, alerts, q, page)


@router.get("/caseload.json")
def caseload_json(
    request: Request,
    sort: str = "priority",
    band: str | None = None,
    alerts: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> Response:
    return _caseload(request, True, sort, band, alerts, q, page)


# ------------------------------------------------------------------------------------------- patient
def _patient(request: Request, json_suffix: bool, patient_id: int) -> Response:
    def build(who: Principal) -> Response:
        ctx = _ctx(request)
        with ctx.db.write() as s:
            d = data.patient_page(s, ctx.cipher, who, patient_id)
        return respond(request, json_suffix, "patient.html", d, **page_context(request, who))

    return run_page(request, json_suffix, build)


@router.get("/patients/{patient_id}.json")
def patient_json(request: Request, patient_id: int) -> Response:
    return _patient(request, True, patient_id)


@router.get("/patients/{patient_id}")
def patient(request: Request, patient_id: int) -> Response:
    return _patient(request, False, patient_id)


def _conversation(request: Request, json_suffix: bool, patient_id: int, cid: int) -> Response:
    def build(who: Principal) -> Response:
        ctx = _ctx(request)
        with ctx.db.write() as s:
            d = patient_record.conversation(s, ctx.cipher, who, patient_id, cid)
        return respond(request, json_suffix, "conversation.html", d, **page_context(request, who))

    return run_page(request, json_suffix, build)


@router.get("/patients/{patient_id}/conversations/{cid}.json")
def conversation_json(request: Request, patient_id: int, cid: int) -> Response:
    return _conversation(request, True, patient_id, cid)


@router.get("/patients/{patient_id}/conversations/{cid}")
def conversation(request: Request, patient_id: int, cid: int) -> Response:
    return _conversation(request, False, patient_id, cid)


def _monthly(request: Request, json_suffix: bool, patient_id: int, month: str | None) -> Response:
    def build(who: Principal) -> Response:
        with _ctx(request).db.write() as s:
            d = patient_record.monthly(s, who, patient_id, month)
        return respond(request, json_suffix, "monthly.html", d, **page_context(request, who))

    return run_page(request, json_suffix, build, ("clinician", "admin", "patient"))


@router.get("/patients/{patient_id}/monthly.json")
def monthly_json(request: Request, patient_id: int, month: str | None = None) -> Response:
    return _monthly(request, True, patient_id, month)


@router.get("/patients/{patient_id}/monthly")
def monthly(request: Request, patient_id: int, month: str | None = None) -> Response:
    return _monthly(request, False, patient_id, month)


# ------------------------------------------------------------------------------------------- reports
@router.post("/patients/{patient_id}/reports")
def report_draft(request: Request, patient_id: int, csrf_token: str = Form("", alias=CSRF_FIELD)) -> Response:
    def build(who: Principal) -> Response:
        check_csrf(request, who, csrf_token)
        ctx = _ctx(request)
        with ctx.db.write() as s:
            report = report_workflow.draft_report(s, ctx.cipher, who, patient_id, settings=ctx.settings)
            rid = report.id
        return RedirectResponse(f"/patients/{patient_id}/reports/{rid}", status_code=303)

    return run_page(request, False, build, ("clinician", "admin"))


def _report(request: Request, json_suffix: bool, patient_id: int, rid: int) -> Response:
    def build(who: Principal) -> Response:
        ctx = _ctx(request)
        with ctx.db.write() as s:
            d = report_workflow.report_detail(s, ctx.cipher, who, patient_id, rid)
        return respond(request, json_suffix, "report.html", d, **page_context(request, who))

    return run_page(request, json_suffix, build)


@router.get("/patients/{patient_id}/reports/{rid}.json")
def report_json(request: Request, patient_id: int, rid: int) -> Response:
    return _report(request, True, patient_id, rid)


@router.get("/patients/{patient_id}/reports/{rid}.pdf")
def report_pdf(request: Request, patient_id: int, rid: int) -> Response:
    def build(who: Principal) -> Response:
        ctx = _ctx(request)
        with ctx.db.write() as s:
            d = report_workflow.report_detail(s, ctx.cipher, who, patient_id, rid)
        return pdf_attachment(*report_workflow.report_pdf(d, who))

    return run_page(request, False, build)


@router.get("/patients/{patient_id}/reports/{rid}")
def report(request: Request, patient_id: int, rid: int) -> Response:
    return _report(request, False, patient_id, rid)


@router.post("/patients/{patient_id}/reports/{rid}/edit")
def report_edit(
    request: Request,
    patient_id: int,
    rid: int,
    csrf_token: str = Form("", alias=CSRF_FIELD),
    summary: str = Form(...),
    clinician_note: str = Form(""),
    patient_notes: str = Form(""),
    family_advice: str = Form(""),
    note: str = Form(""),
) -> Response:
    def build(who: Principal) -> Response:
        check_csrf(request, who, csrf_token)
        ctx = _ctx(request)
        edits = {
            "summary": summary,
            "clinician_note": clinician_note,
            "patient_notes": patient_notes,
            "family_advice": family_advice,
        }
        with ctx.db.write() as s:
            report_workflow.edit_report(s, ctx.cipher, who, patient_id, rid, edits, note=note or None)
        return RedirectResponse(f"/patients/{patient_id}/reports/{rid}#report", status_code=303)

    return run_page(request, False, build, ("clinician", "admin"))


@router.post("/patients/{patient_id}/reports/{rid}/release")
def report_release(
    request: Request, patient_id: int, rid: int, csrf_token: str = Form("", alias=CSRF_FIELD), note: str = Form("")
) -> Response:
    def build(who: Principal) -> Response:
        check_csrf(request, who, csrf_token)
        ctx = _ctx(request)
        with ctx.db.write() as s:
            report_workflow.release_report(s, ctx.cipher, who, patient_id, rid, note=note or None)
        return RedirectResponse(f"/patients/{patient_id}/reports/{rid}#report", status_code=303)

    return run_page(request, False, build, ("clinician", "admin"))


# --------------------------------------------------------------------------------- patient and family
def _me(request: Request, json_suffix: bool) -> Response:
    def build(who: Principal) -> Response:
        ctx = _ctx(request)
        with ctx.db.write() as s:
            d = data.my_page(s, ctx.cipher, who)
        return respond(request, json_suffix, "me.html", d, **page_context(request, who))

    return run_page(request, json_suffix, build, ("patient",))


@router.get("/me.json")
def me_json(request: Request) -> Response:
    return _me(request, True)


@router.get("/me")
def me(request: Request) -> Response:
    return _me(request, False)


def _family(request: Request, json_suffix: bool) -> Response:
    def build(who: Principal) -> Response:
        ctx = _ctx(request)
        with ctx.db.write() as s:
            d = data.family_page(s, ctx.cipher, who)
        return respond(request, json_suffix, "family.html", d, **page_context(request, who))

    return run_page(request, json_suffix, build, ("family",))


@router.get("/family.json")
def family_json(request: Request) -> Response:
    return _family(request, True)


@router.get("/family")
def family(request: Request) -> Response:
    return _family(request, False)


# -------------------------------------------------------------------------------------------- static
@router.get("/static/{path:path}")
def static(path: str) -> Response:
    root = STATIC_DIR.resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(
        target, media_type=media, headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    )
