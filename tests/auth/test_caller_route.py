"""CallerRoute (app.auth.deps): a route taking the request and its caller alone is served without
FastAPI's dependency solving; every other route under it is served as FastAPI serves it."""

from typing import Annotated

from fastapi import FastAPI, Query, Request, Response
from fastapi.routing import APIRouter
from fastapi.testclient import TestClient

from app.auth.deps import CallerRoute, ChecksWrite
from app.errors import install_error_handlers


def _app() -> FastAPI:
    router = APIRouter(route_class=CallerRoute)

    @router.post("/lean")
    async def lean(request: Request, principal: ChecksWrite) -> Response:
        return Response(f"{principal.client_id} {await request.body()!r}", media_type="text/plain")

    @router.get("/solved")
    async def solved(principal: ChecksWrite, n: Annotated[int, Query(ge=1)]) -> dict[str, int]:
        return {"n": n}

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    return app


def test_a_route_of_request_and_caller_admits_its_caller_as_the_dependency_would(token_for):
    checker = token_for("national.market_regulation", "checks:write")
    recorder = token_for("national.market_regulation", "records:write")
    with TestClient(_app()) as client:
        assert client.post("/lean", content=b"x").status_code == 401
        garbage = {"Authorization": "Bearer not.a.token"}
        assert client.post("/lean", content=b"x", headers=garbage).status_code == 401
        refused = client.post("/lean", content=b"x", headers=recorder)
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
        answered = client.post("/lean", content=b"body", headers=checker)
        assert answered.status_code == 200 and answered.text.endswith(" b'body'")
        assert answered.text.split()[0].startswith("cl_")


def test_a_route_with_other_parameters_is_solved_as_fastapi_solves_it(token_for):
    checker = token_for("national.market_regulation", "checks:write")
    with TestClient(_app()) as client:
        assert client.get("/solved?n=3", headers=checker).json() == {"n": 3}
        assert client.get("/solved?n=0", headers=checker).status_code == 422
        assert client.get("/solved?n=3").status_code == 401
