"""The OpenAPI document declares every error status a route can answer, each with the `ErrorOut` body.

Most of them follow from the route's shape, so they are derived here instead of repeated on every route:
503 and 507 everywhere (the store is down or full; even a read writes its audit row); 413 on every method
that may carry a body (checked before any handler); 400 and 422 where there is a body, 422 where there is
any parameter; 404 where the path or an `..._id` query parameter names a resource; 401, 403 and 429 (a
wrong API key is throttled) wherever the caller is authenticated. Statuses that depend on the workflow
(409, a 404 for an id in the body, the login routes' 401 and 429) are declared on the route with
`http_errors.error_responses(...)`. Schemathesis holds the running server to this document
(`tests/server/test_schemathesis.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from phqwatch.server.auth import authenticate
from phqwatch.server.http_errors import ERROR_DESCRIPTIONS, ErrorOut

_REF = "#/components/schemas/{model}"
_SAFE = {"get", "head", "options"}


def _calls(dependant: Dependant, fn: Callable) -> bool:
    return any(d.call is fn or _calls(d, fn) for d in dependant.dependencies)


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those inside included routers (FastAPI may keep them nested)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif hasattr(r, "original_router"):
            yield from api_routes(r.original_router.routes)
        elif hasattr(r, "routes"):
            yield from api_routes(r.routes)


def error_codes(route: APIRoute | None, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses a route can answer to `method`, from its shape (see the module docstring);
    `route` None (not found): authentication is assumed wherever the operation names a security scheme."""
    codes = {503, 507}  # even a read writes its audit row
    params = operation.get("parameters") or []
    body = "requestBody" in operation
    if method not in _SAFE:
        codes.add(413)
    if body:
        codes |= {400, 422}
    if params:
        codes.add(422)
    if any(p.get("in") == "path" or str(p.get("name", "")).endswith("_id") for p in params):
        codes.add(404)
    if _calls(route.dependant, authenticate) if route is not None else "security" in operation:
        codes |= {401, 403, 429}
    return codes


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}},
    }


def declare_errors(app: FastAPI) -> None:
    """Make `app.openapi()` declare the derived error statuses of every route (the default 422 body is
    replaced by `ErrorOut`, which is what the error handlers send)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = base()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template=_REF)
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorOut"] = error_schema
        routes = {(m.lower(), r.path_format): r for r in api_routes(app.routes) for m in r.methods or ()}
        for path, operations in doc.get("paths", {}).items():
            for method, op in operations.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses = op["responses"]
                for code in sorted(error_codes(routes.get((method, path)), method, op)):
                    declared = responses.get(str(code))
                    if declared is None or "HTTPValidationError" in str(declared):
                        responses[str(code)] = _error_response(code)
        if "HTTPValidationError" not in str(doc["paths"]):
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
        app.openapi_schema = doc
        return doc

    # FastAPI's documented way to extend the schema replaces this method, which its types declare read-only.
    app.openapi = openapi  # type: ignore[method-assign]
