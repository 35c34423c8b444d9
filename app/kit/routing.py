"""The app's route table, flattened: FastAPI keeps included routers as branches of the tree."""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from starlette.routing import BaseRoute, Match, Route


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
