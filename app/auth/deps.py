"""Auth as types: `RecordsWrite` in a route's signature means "a caller holding records:write".

Routes are closed unless they take one of these; public routes are public on purpose.
"""

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app.auth.scopes import Scope
from app.auth.service import Principal, cached_client_status, client_is_active, verify_token
from app.errors import Forbidden, Unauthorized


class Caller(HTTPBearer):
    """The caller of a closed route, admitted when its bearer token is valid, its client not revoked
    and (when `scopes` are named) it holds at least one of them.

    A bearer scheme itself, so that the OpenAPI document declares it on every route that takes it,
    and one dependency level: FastAPI's dependency solving costs per level and per request (a
    bearer, then the token, then the scope, was ~20 µs of each check; docs/benchmarks.md)."""

    def __init__(self, *scopes: Scope) -> None:
        super().__init__(
            auto_error=False, scheme_name="HTTPBearer", description="An access token from POST /v1/auth/token"
        )
        self.required_scopes = scopes  # read by the authorization tests

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        # async: a cached token costs no thread hop; the revocation lookup, when due, runs in a worker
        # thread so that the event loop never waits on the database.
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("an access token is required (Authorization: Bearer <token>)")
        principal = verify_token(token)
        active = cached_client_status(principal.client_id)
        if active is None:
            active = await run_in_threadpool(client_is_active, principal.client_id)
        if not active:
            raise Unauthorized("the client this token was issued to has been revoked")
        if self.required_scopes and not any(principal.has(scope) for scope in self.required_scopes):
            names = " or ".join(scope.value for scope in self.required_scopes)
            raise Forbidden(f"this needs the {names} scope")
        return principal


Authenticated = Annotated[Principal, Depends(Caller())]
RecordsWrite = Annotated[Principal, Depends(Caller(Scope.records_write))]
RecordsRead = Annotated[Principal, Depends(Caller(Scope.records_read, Scope.records_write))]
SubjectsRead = Annotated[Principal, Depends(Caller(Scope.records_read, Scope.checks_write))]
FeedRead = Annotated[Principal, Depends(Caller(Scope.records_read))]
ChecksWrite = Annotated[Principal, Depends(Caller(Scope.checks_write))]
CasesReview = Annotated[Principal, Depends(Caller(Scope.cases_review))]
RulesAdmin = Annotated[Principal, Depends(Caller(Scope.rules_admin))]
Admin = Annotated[Principal, Depends(Caller(Scope.admin))]
AuditRead = Annotated[Principal, Depends(Caller(Scope.audit_read))]
RulesRead = Annotated[Principal, Depends(Caller(Scope.rules_admin, Scope.admin, Scope.checks_write))]
ChecksRead = Annotated[Principal, Depends(Caller(Scope.checks_write, Scope.admin))]
