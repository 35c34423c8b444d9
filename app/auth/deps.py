"""Auth as types: `RecordsWrite` in a route's signature means "a caller holding records:write".

Routes are closed unless they take one of these; public routes are public on purpose.
"""

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.auth.scopes import Scope
from app.auth.service import Principal, cached_client_status, client_is_active, verify_token
from app.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /v1/auth/token")


async def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # async: a cached token costs no thread hop; the revocation lookup, when due, runs in a worker
    # thread so that the event loop never waits on the database.
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an access token is required (Authorization: Bearer <token>)")
    principal = verify_token(credentials.credentials)
    active = cached_client_status(principal.client_id)
    if active is None:
        active = await run_in_threadpool(client_is_active, principal.client_id)
    if not active:
        raise Unauthorized("the client this token was issued to has been revoked")
    return principal


def require_any(*scopes: Scope):  # type: ignore[no-untyped-def]
    """A dependency admitting callers that hold at least one of `scopes`."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not any(principal.has(scope) for scope in scopes):
            names = " or ".join(scope.value for scope in scopes)
            raise Forbidden(f"this needs the {names} scope")
        return principal

    dependency.required_scopes = scopes  # type: ignore[attr-defined]  # read by the authorization tests
    return dependency


Authenticated = Annotated[Principal, Depends(authenticate)]
RecordsWrite = Annotated[Principal, Depends(require_any(Scope.records_write))]
RecordsRead = Annotated[Principal, Depends(require_any(Scope.records_read, Scope.records_write))]
SubjectsRead = Annotated[Principal, Depends(require_any(Scope.records_read, Scope.checks_write))]
FeedRead = Annotated[Principal, Depends(require_any(Scope.records_read))]
ChecksWrite = Annotated[Principal, Depends(require_any(Scope.checks_write))]
CasesReview = Annotated[Principal, Depends(require_any(Scope.cases_review))]
RulesAdmin = Annotated[Principal, Depends(require_any(Scope.rules_admin))]
Admin = Annotated[Principal, Depends(require_any(Scope.admin))]
AuditRead = Annotated[Principal, Depends(require_any(Scope.audit_read))]
RulesRead = Annotated[Principal, Depends(require_any(Scope.rules_admin, Scope.admin, Scope.checks_write))]
ChecksRead = Annotated[Principal, Depends(require_any(Scope.checks_write, Scope.admin))]
