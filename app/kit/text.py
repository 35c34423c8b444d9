"""Free text as people and agencies send it: printable, trimmed, bounded."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

# Unicode's control characters (category Cc: U+0000–U+001F, U+007F–U+009F) but tab and line breaks.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(value: str) -> str:
    """No control characters but tab and line breaks: PostgreSQL cannot store NUL, and no legal text
    needs the others; refusing them keeps both databases storing the same thing."""
    if found := _CONTROL.search(value):
        raise ValueError(f"must not contain control characters (found U+{ord(found.group()):04X})")
    return value


def text(max_length: int) -> Any:
    """A required text field: surrounding whitespace dropped, then 1..max_length printable characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(printable),
    ]
