"""Auth as types: `RecordsWrite` in a route's signature means "a caller holding records:write".

Routes are closed unless they take one of these; public routes are public on purpose.
"""

import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
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


class CallerRoute(APIRoute):
    """A route whose endpoint takes the request and its caller alone, reads its body itself and
    returns a Response is served without FastAPI's dependency solving (the approvers' checks: ~a fifth
    of a check's processor time, docs/benchmarks.md): its Caller admits the caller as it would as a
    dependency, and the endpoint gets both. The signature still declares the caller, so that the
    OpenAPI document and the authorization tests read it there. Any other route is served as
    FastAPI serves it. (`app.dependency_overrides` does not reach the caller of a route so served.)"""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        caller = dependant.dependencies[0] if len(dependant.dependencies) == 1 else None
        takes_only_request_and_caller = (
            caller is not None
            and isinstance(caller.call, Caller)
            and not caller.dependencies
            and dependant.request_param_name is not None
            and not any(
                (
                    dependant.path_params,
                    dependant.query_params,
                    dependant.header_params,
                    dependant.cookie_params,
                    dependant.body_params,
                    dependant.response_param_name,
                    dependant.background_tasks_param_name,
                    dependant.http_connection_param_name,
                    dependant.security_scopes_param_name,
                )
            )
        )
        returns = inspect.signature(self.endpoint).return_annotation
        if not (takes_only_request_and_caller and inspect.isclass(returns) and issubclass(returns, Response)):
            return super().get_route_handler()
        assert caller is not None and isinstance(caller.call, Caller)
        assert caller.name and dependant.request_param_name
        admit, endpoint = caller.call, self.endpoint
        request_name, caller_name = dependant.request_param_name, caller.name

        async def handler(request: Request) -> Response:
            principal = await admit(request)
            response: Response = await endpoint(**{request_name: request, caller_name: principal})
            return response

        return handler


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
