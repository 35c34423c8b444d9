"""Free text as people and agencies send it: printable, trimmed, bounded."""

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

# Unicode's control characters (category Cc: U+0000–U+001F, U+007F–U+009F) but tab and line breaks,
# and the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): text shown
# in another order than stored ("Trojan Source"), a number typed backwards and displayed whole.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(value: str) -> str:
    """No control characters but tab and line breaks, and no bidirectional overrides: PostgreSQL
    cannot store NUL, and no legal text needs the others; refusing them keeps both databases storing
    the same thing."""
    if found := _CONTROL.search(value):
        raise ValueError(f"must not contain control characters (found U+{ord(found.group()):04X})")
    return value


# Characters that draw nothing though Unicode files them as letters or symbols: the braille blank,
# the Hangul fillers.
_BLANK_LOOKING = frozenset("\u2800\u3164\u115f\u1160\uffa0")
# Categories that draw nothing of their own: format, marks, separators, controls, unassigned, private.
_UNSEEN = frozenset(("Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc", "Cn", "Co"))


def _visible(character: str) -> bool:
    return character not in _BLANK_LOOKING and unicodedata.category(character) not in _UNSEEN


def _printable_and_visible(value: str) -> str:
    """Printable, and more than invisible characters: a decision number of a zero-width space, a
    braille blank or a Hangul filler is none."""
    printable(value)
    if not any(map(_visible, value)):  # stops at the first visible character
        raise ValueError("must hold visible text, not only spaces or invisible characters")
    return value


def _required(max_length: int, check: Any) -> Any:
    """Surrounding whitespace dropped, then 1..max_length characters that `check` accepts."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(check),
    ]


def text(max_length: int) -> Any:
    """A required text field: 1..max_length printable characters, some of them visible."""
    return _required(max_length, _printable_and_visible)


# Invisible formatting characters (Unicode category Cf: zero-width spaces and joiners, the byte-order
# mark, soft hyphen, bidirectional embeddings, overrides and isolates): a name carrying one looks the
# same as the name without it yet compares different, and an override shows the name reversed.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
_LINE_BREAK = re.compile("[\t\n\r\u2028\u2029\x85]")


def one_line(value: str) -> str:
    """A name: printable, on one line, with no invisible formatting characters."""
    printable(value)
    if found := _LINE_BREAK.search(value) or _INVISIBLE.search(value):
        raise ValueError(
            f"must be one line without invisible formatting characters (found U+{ord(found.group()):04X})"
        )
    return value


def name(max_length: int) -> Any:
    """A required name: 1..max_length characters on one line."""
    return _required(max_length, one_line)
