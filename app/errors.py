"""One error shape for every 4xx and 5xx: {"error": code, "detail": sentence, ...} (API.md, Errors)."""

from typing import Any, ClassVar

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.kit.responses import FastJSON
from app.kit.routing import allowed_methods

# What each error status means, as the OpenAPI document declares it (app.openapi).
REASONS = {
    400: "The request could not be parsed, or an OAuth2 grant or scope error",
    401: "Missing, malformed, expired or wrongly signed token",
    403: "The token lacks the scope, or the agency holds no role here",
    404: "No such resource",
    408: "The request body did not arrive in time; nothing was stored",
    409: "Conflicts with the stored state; nothing was stored",
    412: "The If-Match version is stale",
    413: "The request body, or an uploaded file, is too large; nothing was stored",
    415: "The upload's type is not accepted",
    422: "Invalid input; the fields are named",
    428: "If-Match is required",
    429: "Rate limit reached; retry after Retry-After seconds",
    503: "The database is unavailable; nothing was stored; retry after Retry-After seconds",
}


class FieldError(BaseModel):
    field: str
    detail: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx: a code and a sentence; validation errors also name the fields. Some errors
    say more in fields of their own (a date from which to retry, the line of an upload, a limit)."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: str
    fields: list[FieldError] | None = None


def errors_declared(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer errors beyond its kind's defaults."""
    return {status: {"model": ErrorBody, "description": REASONS[status]} for status in statuses}


class RegistryError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class InvalidScope(RegistryError):
    """RFC 6749 §5.2: a token asked for scopes its client was not granted."""

    code = "invalid_scope"


class UnsupportedGrantType(RegistryError):
    code = "unsupported_grant_type"


class NotFound(RegistryError):
    status_code = 404
    code = "not_found"


class Unauthorized(RegistryError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = {"WWW-Authenticate": "Bearer"}


class InvalidClient(Unauthorized):
    code = "invalid_client"


class Forbidden(RegistryError):
    status_code = 403
    code = "forbidden"


class Conflict(RegistryError):
    status_code = 409
    code = "conflict"


class VersionConflict(RegistryError):
    status_code = 412
    code = "version_conflict"


class PreconditionRequired(RegistryError):
    status_code = 428
    code = "precondition_required"


class Unprocessable(RegistryError):
    status_code = 422
    code = "unprocessable"


class ValidationFailed(Unprocessable):
    """422 validation_error with the offending fields named."""

    code = "validation_error"

    def __init__(self, fields: list[dict[str, str]], detail: str | None = None) -> None:
        detail = detail or "; ".join(f"{f['field']}: {f['detail']}" for f in fields)
        super().__init__(detail, fields=fields)

    @classmethod
    def one(cls, field: str, detail: str) -> "ValidationFailed":
        return cls([{"field": field, "detail": detail}])


class ServiceUnavailable(RegistryError):
    status_code = 503
    code = "service_unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class RateLimited(RegistryError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'subject', 'identifier') -> 'subject.identifier'; list indexes become [i]."""
    parts: list[str] = []
    for item in loc:
        if item in ("body", "query", "path", "header", "form") and not parts:
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "body"


def pydantic_fields(errors: list[Any]) -> list[dict[str, str]]:
    fields = []
    for err in errors:
        message = str(err.get("msg", "invalid"))
        # Our own validators raise ValueError("..."): pydantic prefixes "Value error, ".
        message = message.removeprefix("Value error, ")
        fields.append({"field": field_path(err.get("loc", ())), "detail": message})
    return fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_: Request, exc: RegistryError) -> FastJSON:
        return FastJSON(exc.body(), status_code=exc.status_code, headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> FastJSON:
        return _registry_response(ValidationFailed(pydantic_fields(list(exc.errors()))))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(psycopg.OperationalError)  # COPY talks to the driver directly
    async def _database_down(_: Request, exc: Exception) -> FastJSON:
        # The request's transaction was rolled back: nothing of it is stored, and a retry is safe.
        return _registry_response(
            ServiceUnavailable("the database is unavailable; nothing was stored, retry later", retry_after=5)
        )

    @app.exception_handler(DataError)
    @app.exception_handler(psycopg.DataError)  # COPY talks to the driver directly
    async def _unstorable(_: Request, exc: DataError) -> FastJSON:
        # The schemas refuse what the database cannot store; this catches what one of them missed
        # (PostgreSQL: NUL in text, a number out of range). The transaction was rolled back.
        return _registry_response(
            ValidationFailed.one("body", "a value cannot be stored as given (e.g. a NUL character)")
        )

    @app.exception_handler(OverflowError)
    async def _out_of_range(_: Request, exc: OverflowError) -> FastJSON:
        # Day arithmetic past year 9999 (a date at the edge of the calendar plus a day or a period),
        # or an integer too large for SQLite: inputs are bounded (app.kit.dates, le=...); this catches
        # one a schema did not bound.
        return _registry_response(
            ValidationFailed.one("request", "a date or a number is out of range; nothing was stored")
        )

    @app.exception_handler(IntegrityError)
    @app.exception_handler(psycopg.IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> FastJSON:
        # Two requests raced for the same unique key; the loser stored nothing and may retry.
        return _registry_response(
            Conflict("a concurrent change conflicted with this one; nothing was stored")
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> FastJSON:
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI's own answer to JSON nested past the parser's depth: a body that cannot be
            # read, refused as every other one is (422 validation_error naming the body).
            return _registry_response(ValidationFailed.one("body", "the JSON body is nested too deeply"))
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        code = codes.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such resource"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request.scope))
        return FastJSON({"error": code, "detail": detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> FastJSON:
        # What nothing above answers reaches Starlette's outermost error middleware, outside the
        # application's own (no security headers added there): the error body every 5xx has
        # (API.md, Errors), and the headers every answer has. The middleware logs the traceback.
        return FastJSON(
            {
                "error": "internal_error",
                "detail": "the registry could not answer (an unexpected error, logged)",
            },
            status_code=500,
            headers={"x-content-type-options": "nosniff", "cache-control": "no-store"},
        )


def _registry_response(exc: RegistryError) -> FastJSON:
    return FastJSON(exc.body(), status_code=exc.status_code, headers=exc.headers or None)
