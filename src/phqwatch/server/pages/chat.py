"""Chat pages for patients and family members: their own check-in conversations, sending by a plain form post
(works without JavaScript) and, where JavaScript runs, the reply streamed from the API's server-sent events.

URLs
  GET  /chat[.json]                 your conversations, and a button to start one
  POST /chat/new                    start a conversation -> /chat/{id}
  GET  /chat/{id}[.json]            one of your conversations (anyone else's: 404)
  POST /chat/{id}/send              send a message (form: text, nonce, csrf_token) -> /chat/{id}#latest
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phqwatch.errors import InputError, PhqwatchError
from phqwatch.server.auth import RateLimitedError
from phqwatch.server.chat_service import CHAT_ROLES, chat_service
from phqwatch.server.pages.render import html, respond
from phqwatch.server.pages.routes import page_context, run_page
from phqwatch.server.pages.session import CSRF_FIELD, check_csrf, page_principal

router = APIRouter(include_in_schema=False)


def _list(request: Request, json_suffix: bool) -> Response:
    def build(who: Any) -> Response:
        data = {"conversations": chat_service(request).conversations(who), "kind": who.role}
        return respond(request, json_suffix, "chat_list.html", data, **page_context(request, who))

    return run_page(request, json_suffix, build, CHAT_ROLES)


@router.get("/chat.json")
def chat_list_json(request: Request) -> Response:
    return _list(request, True)


@router.get("/chat")
def chat_list(request: Request) -> Response:
    return _list(request, False)


@router.post("/chat/new")
def chat_new(request: Request, csrf_token: str = Form("", alias=CSRF_FIELD)) -> Response:
    def build(who: Any) -> Response:
        check_csrf(request, who, csrf_token)
        cid, _, _ = chat_service(request).start(who)
        return RedirectResponse(f"/chat/{cid}", status_code=303)

    return run_page(request, False, build, CHAT_ROLES)


def _render(request: Request, who: Any, cid: int, *, error: str | None = None, fix: str | None = None,
            draft: str = "", status_code: int = 200) -> Response:  # fmt: skip
    data = chat_service(request).view(who, cid)
    return html(
        "chat.html",
        status_code=status_code,
        data=data,
        nonce=uuid.uuid4().hex,
        error=error,
        fix=fix,
        draft=draft,
        max_chars=request.app.state.ctx.settings.chat_max_message_chars,
        **page_context(request, who),
    )


def _view(request: Request, json_suffix: bool, cid: int) -> Response:
    def build(who: Any) -> Response:
        if json_suffix:
            return respond(request, True, "chat.html", chat_service(request).view(who, cid))
        return _render(request, who, cid)

    return run_page(request, json_suffix, build, CHAT_ROLES)


@router.get("/chat/{cid}.json")
def chat_view_json(request: Request, cid: int) -> Response:
    return _view(request, True, cid)


@router.get("/chat/{cid}")
def chat_view(request: Request, cid: int) -> Response:
    return _view(request, False, cid)


@router.post("/chat/{cid}/send")
async def chat_send(
    request: Request,
    cid: int,
    text: str = Form(""),
    nonce: str = Form(""),
    csrf_token: str = Form("", alias=CSRF_FIELD),
) -> Response:
    """Store and screen the message, wait for the reply, then show the conversation again (post-redirect-get).
    An empty, oversized or too frequent message re-renders the page with the error and the draft kept."""
    who = await run_in_threadpool(page_principal, request)
    if who is None:
        return RedirectResponse(f"/login?next=/chat/{cid}", status_code=303)

    def checked(_who: Any) -> Response:
        if who.role not in CHAT_ROLES:
            from phqwatch.errors import PermissionDeniedError

            raise PermissionDeniedError(f"The '{who.role}' role may not open this page.", fix="Go to your start page.")
        check_csrf(request, who, csrf_token)
        return Response(status_code=204)

    gate = await run_in_threadpool(run_page, request, False, checked)
    if gate.status_code != 204:
        return gate
    svc = chat_service(request)
    try:
        await svc.send(who, cid, text, nonce or None)
    except (InputError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 422
        error, fix = exc.message, exc.fix
        return await run_in_threadpool(
            lambda: _render(request, who, cid, error=error, fix=fix, draft=text[:100_000], status_code=status)
        )
    except PhqwatchError as exc:
        return await run_in_threadpool(run_page, request, False, _raiser(exc))
    return RedirectResponse(f"/chat/{cid}#latest", status_code=303)


def _raiser(exc: PhqwatchError) -> Callable[[Any], Response]:
    def build(_who: Any) -> Response:
        raise exc

    return build
