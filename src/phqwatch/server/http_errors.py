"""Translate phqwatch errors into HTTP statuses (auditing every denial), and refuse oversized bodies (413)
before parsing."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from phqwatch.errors import (
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    PhqwatchError,
    StorageFullError,
    StoreError,
)
from phqwatch.server.auth import AuthError, RateLimitedError
from phqwatch.server.deps import audit_denial

log = logging.getLogger("phqwatch.server")

STATUS = (
    (AuthError, 401),
    (RateLimitedError, 429),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InputError, 422),
    (StorageFullError, 507),
    (StoreError, 503),
    (ConfigError, 500),
)


class FieldErrorOut(BaseModel):
    """One invalid field of a request (422 from request validation); the input itself is never echoed."""

    field: str = Field(description="Where, e.g. `body.messages[1].role` or `path.patient_id`.")
    loc: list[str | int]
    type: str | None = None
    msg: str | None = None


class ErrorOut(BaseModel):
    """The body of every error answer (4xx, 503, 507): what went wrong and how to fix it."""

    detail: str | list[FieldErrorOut] = Field(description="A message, or the invalid fields (422).")
    fix: str | None = Field(None, description="How to fix it.")
    field: str | None = Field(None, description="The field at fault (422 from a rule beyond the schema).")


ERROR_DESCRIPTIONS = {
    400: "The body could not be parsed",
    401: "Not authenticated, or a wrong password, token or API key",
    403: "The caller's role or care team does not allow this",
    404: "No such resource in the caller's organisation",
    409: "Conflicts with the resource's current state",
    413: "The request body is too large",
    422: "Invalid input: the fields at fault are named",
    429: "Too many attempts; see Retry-After",
    503: "The store is unavailable; try again",
    507: "The store is full; nothing was stored (see Retry-After)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A `responses=` dict declaring these error statuses with the `ErrorOut` body."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


def _path(loc: tuple | list) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def status_of(exc: PhqwatchError) -> int:
    """The HTTP status of a phqwatch error: the one mapping for the API and the pages alike."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def error_headers(exc: PhqwatchError, status: int) -> dict[str, str]:
    """Headers that go with an error answer (Retry-After when the client should come back)."""
    headers = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, StoreError):  # the store is down (503) or full (507): the client should come back
        headers["Retry-After"] = "60" if status == 507 else "5"
    return headers


def log_server_error(request: Request, exc: PhqwatchError, status: int) -> None:
    """Log a 5xx answer: the error's class and message, never a request body."""
    if status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc.message)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PhqwatchError)
    async def _phqwatch_error(request: Request, exc: PhqwatchError) -> JSONResponse:
        status = status_of(exc)
        body: dict[str, Any] = {"detail": exc.message, "fix": exc.fix}
        if isinstance(exc, InputError) and exc.field:
            body["field"] = exc.field
        headers = error_headers(exc, status)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        log_server_error(request, exc, status)
        if status in (403, 404):
            await _audit_denial(request, exc, status)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = list(e.get("loc", ()))
            errors.append(
                {"field": _path(loc), "loc": loc, "type": e.get("type"), "msg": e.get("msg")}
            )  # never echo the input: it may be health data
        return JSONResponse(
            {"detail": errors, "fix": "Correct the fields named in `detail[*].field` and send again."},
            status_code=422,
        )


def record_denial(request: Request, exc: PhqwatchError, status: int) -> None:
    """Audit a denial (403, or a 404 hiding another organisation's patient) for the API and the pages; a
    store failure is logged (the refusal itself still stands and is answered)."""
    try:
        audit_denial(request.app.state.ctx, request, exc, status)
    except (StoreError, SQLAlchemyError) as err:
        log.error("Could not audit a denial on %s %s: %s", request.method, request.url.path, type(err).__name__)


async def _audit_denial(request: Request, exc: PhqwatchError, status: int) -> None:
    await run_in_threadpool(record_denial, request, exc, status)


class BodySizeLimit:
    """ASGI middleware: bodies over `max_bytes` get 413 before any handler runs (Content-Length checked
    first; a chunked body is counted while read and refused as soon as it passes the limit)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict, receive: Any, send: Any) -> None:
        response = JSONResponse(
            {
                "detail": f"The request body is larger than {self.max_bytes} bytes.",
                "fix": "Send fewer messages per request (PHQWATCH_MAX_BODY_BYTES sets the limit).",
            },
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
