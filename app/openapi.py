"""The OpenAPI document, kept honest: every error an operation can answer is declared with its shape.

FastAPI declares only 200 and its own 422 body. The registry answers every error in one shape
(API.md, Errors), so this module replaces that 422 body and adds the errors each kind of operation
can give, derived from the route itself: a bearer token (401, 403), a path parameter (404), input
(422; for a body also 400 when it cannot be parsed, 413 when too large, 408 when too slow), a write
(409), the public rate limit (429), the database (503). What only one route can answer (412, 415,
428...) it declares itself with `errors_declared(...)`. Success bodies are the routes' own: a
`response_model` (with FastJSON, a JSONResponse, for routes that return pre-serialized bytes), or
`responses=` for files and CSV. tests/ops/test_openapi_contract.py validates every operation's live
answers against this document, and the fuzz test (tests/ops/test_fuzz.py, scripts/fuzz) fails on
any status or body it does not declare.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.errors import REASONS, ErrorBody
from app.kit import bodies
from app.kit.routing import leaf_routes

_WRITE_METHODS = {"post", "put", "patch", "delete"}


def _default_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {503}
    if operation.get("security"):
        statuses |= {401, 403}
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        # Bodies are bounded in size and time as they arrive (app.kit.limits), on every route.
        statuses |= {400, 408, 413}
    if method in _WRITE_METHODS:
        statuses.add(409)
    if path.startswith("/v1/public/"):
        statuses.add(429)
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": REASONS.get(status, "Error"),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=list(leaf_routes(app.routes)),
        tags=app.openapi_tags,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    for name, model in bodies.DECLARED.items():  # bodies the routes read themselves
        body_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for defined, definition in body_schema.pop("$defs", {}).items():
            schemas.setdefault(defined, definition)
        schemas[name] = body_schema
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _default_statuses(path, method, operation) | {
                int(code) for code in responses if code.isdigit() and int(code) >= 400
            }:
                responses[str(status)] = _error_response(status)
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# Swagger UI and ReDoc as the app serves them itself, from the fastapi-offline package's copies: the
# API documentation works without internet access (nothing from a CDN, no Google fonts).
DOCS_ASSETS = "/docs-assets"


def install_offline_docs(app: FastAPI) -> None:
    """/docs and /redoc with their scripts and styles served from DOCS_ASSETS (FastAPI(docs_url=None,
    redoc_url=None) must have turned off the default pages, which load them from a CDN)."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
