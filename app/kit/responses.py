"""A JSON response rendered by orjson, for error bodies and hot read paths that build dicts from rows."""

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSON(JSONResponse):
    """A JSONResponse (so that FastAPI documents a route's `response_model` as its body, not as a bare
    string) whose render is orjson's; a route that returns one, or its own bytes, is not slowed."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=_fallback)


def _fallback(value: Any) -> Any:
    # UUIDs, dates and datetimes are handled by orjson itself; Decimals and sets are the usual others.
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)
