"""The app's route table: every router's routes in one table, each router's behind the literal
starts of its paths.

FastAPI (0.165) keeps each included router as a branch: a request is matched against the branches
one by one, and the branch that matches matches its routes again to pick one, with bookkeeping of
its own around every route (~13 µs of a ~48 µs ping in process, 2026-12-08, docs/benchmarks.md).
`RouteTable` holds the same routes, in the same order, and matches each once; a router none of
whose paths' literal starts begins the request's path is passed over without trying its routes.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

# The route a RouteTable chose, kept in the request's scope between matching and handling.
CHOSEN_ROUTE = "registry.route"


def _literal_start(route: BaseRoute) -> str | None:
    """What every path the route matches starts with (its path up to the first parameter); None
    when that is not known here (a host, a websocket route of another kind)."""
    if isinstance(route, Route | Mount):
        return route.path.split("{", 1)[0]
    return None


class RouteTable(BaseRoute):
    """Routes matched in order, the first full match winning and else the first partial one
    (a path served, not with this method: a 405), as FastAPI's router matches them; `branches`
    are the routers, each with the literal starts of its routes' paths."""

    def __init__(self, branches: Sequence[Sequence[BaseRoute]]) -> None:
        self.branches: list[tuple[tuple[str, ...] | None, tuple[BaseRoute, ...]]] = []
        for routes in branches:
            starts = {_literal_start(route) for route in routes}
            known = None if None in starts else tuple(sorted(start for start in starts if start is not None))
            self.branches.append((known, tuple(routes)))
        self.routes = [route for _, routes in self.branches for route in routes]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope) if scope["type"] in ("http", "websocket") else None
        partial: tuple[BaseRoute, Scope] | None = None
        for starts, routes in self.branches:
            if starts is not None and path is not None and not path.startswith(starts):
                continue
            for route in routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    child_scope[CHOSEN_ROUTE] = route
                    return match, child_scope
                if match is Match.PARTIAL and partial is None:
                    partial = (route, child_scope)
        if partial is None:
            return Match.NONE, {}
        route, child_scope = partial
        child_scope[CHOSEN_ROUTE] = route
        return Match.PARTIAL, child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[CHOSEN_ROUTE].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def tabulate_routes(app: FastAPI) -> RouteTable:
    """Put the app's routes, as included so far, in one RouteTable: each included router a branch,
    the app's own routes a branch each. Routers must be included as they are (no prefix, no
    dependencies added at inclusion), as the table serves their routes as declared."""
    branches: list[list[BaseRoute]] = []
    own: list[BaseRoute] = []  # the app's own routes met since the last router
    for route in app.router.routes:
        if not hasattr(route, "original_router"):
            own.append(route)
            continue
        context = route.include_context  # type: ignore[attr-defined]
        added = (context.prefix, context.dependencies, context.tags, context.responses, context.callbacks)
        if any(added) or context.deprecated or not context.include_in_schema or context.max_body_size:
            raise ValueError("include routers as they are: the table serves their routes as declared")
        if own:
            branches.append(own)
            own = []
        branches.append(list(_routes_within(route.original_router.routes)))
    if own:
        branches.append(own)
    table = RouteTable(branches)
    app.router.routes[:] = [table]
    return table


def _routes_within(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, mounts included, through included routers and route tables."""
    for route in routes:
        if isinstance(route, RouteTable):
            yield from route.routes
        elif hasattr(route, "original_router"):
            yield from _routes_within(route.original_router.routes)
        else:
            yield route


def leaf_routes(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    """The routes that answer requests themselves (not mounts), through routers and route tables."""
    return (route for route in _routes_within(routes) if isinstance(route, Route))


def allowed_methods(routes: Iterable[BaseRoute], scope: Mapping[str, Any]) -> list[str]:
    """The methods served at this path (RFC 9110 §15.5.6: a 405 lists them in Allow).

    The most specific template wins: /v1/records/batch is its own resource, not an {id} of /v1/records/.
    """
    matching = [
        route
        for route in leaf_routes(routes)
        if route.methods and route.matches({**scope, "method": "GET"})[0] != Match.NONE
    ]
    if not matching:
        return []
    template = min((route.path for route in matching), key=lambda path: path.count("{"))
    return sorted(set().union(*(route.methods or () for route in matching if route.path == template)))
