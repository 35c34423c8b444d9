"""The app's route table, flattened: FastAPI keeps included routers as branches of the tree."""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope


def leaf_routes(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        if isinstance(route, Route):
            yield route
        elif hasattr(route, "original_router"):
            yield from leaf_routes(route.original_router.routes)


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


def _literal_prefixes(routes: Iterable[BaseRoute]) -> set[str] | None:
    """The literal start of every path the routes match (up to their first parameter); None when
    one of them is of a kind whose paths are not known here (a mount, a host)."""
    prefixes: set[str] = set()
    for route in routes:
        if isinstance(route, Route):
            prefixes.add(route.path.split("{", 1)[0])
        elif hasattr(route, "original_router") and not getattr(
            getattr(route, "include_context", None), "prefix", ""
        ):
            inner = _literal_prefixes(route.original_router.routes)
            if inner is None:
                return None
            prefixes |= inner
        else:
            return None
    return prefixes


def skip_routers_by_prefix(routes: Iterable[BaseRoute]) -> int:
    """Let each included router refuse at once a path none of its routes can match.

    FastAPI matches a request against the included routers one by one, each trying its routes in
    turn with a regular expression and bookkeeping of its own (tens of microseconds per router): a
    request for the last router paid for all of them. A route's path can only match a request path
    starting with the route's literal start, so a router none of whose starts begins the path
    answers NONE without looking further; every other request is matched as before (partial
    matches, 405s and trailing-slash redirects included). Returns the routers so equipped.
    """
    equipped = 0
    for route in routes:
        prefixes = _literal_prefixes([route]) if hasattr(route, "original_router") else None
        if not prefixes:
            continue
        starts = tuple(sorted(prefixes))
        matches = route.matches

        def prefiltered(
            scope: Scope, starts: tuple[str, ...] = starts, matches: Any = matches
        ) -> tuple[Match, Scope]:
            if scope["type"] in ("http", "websocket") and not get_route_path(scope).startswith(starts):
                return Match.NONE, {}
            return matches(scope)  # type: ignore[no-any-return]

        route.matches = prefiltered  # type: ignore[method-assign]
        equipped += 1
    return equipped
