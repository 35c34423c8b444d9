"""Resident identity numbers as the public and the logs may see them: area code and birth year only.

The court list (法释〔2017〕7号; DOMAIN.md, "Court listings") masks the birth month and day (positions
11–14) but shows the sequence and the check character: with a name and a rough birth date, anyone can
then confirm a guessed number offline (366 days, and the check character leaves about 33). Publication
of a person's data must be lawful and necessary (国办发〔2020〕49号), so the registry shows less than the
court list: the area code and the birth year (what tells two people of one name apart) and nothing from
position 11 on, which leaves nothing to check a guess against. One mask everywhere: two different
masks of one number would together show more than either.

Numbers are found in free text however a clerk typed them: full-width digits (３７０４…), groups
apart ("370402 19800512 1237", "370402-19800512-1237"), an invisible character inside, glued to
letters ("ID370402…"), and the old 15-digit form (GB 11643-1989: two-digit year, no check character).
"""

import re

__all__ = [
    "RESIDENT_ID_IN_TEXT",
    "holds_resident_id",
    "is_resident_id",
    "mask_identifier",
    "mask_resident_id",
    "mask_resident_ids",
]

SHOWN = 10  # GB 11643-1999: 6-digit area code + 4-digit birth year
MASK = "*" * 8

# A resident identity number (GB 11643-1999 layout: area code 1-8xxxxx, a birth date of 18xx-20xx,
# sequence, check digit or X; GB 11643-1989: the same with a two-digit year and no check). The
# date's shape keeps most unified social credit codes (which begin 1, 5, 9 or Y and rarely carry a
# date there) unmasked. In text each character may be full width, and up to three separators
# (spaces, dashes, dots, invisible characters) may stand between two of them.
_SEPARATOR = "[\\s\\-‐-―_.·・/\u00ad\u200b-\u200f\u2060\ufeff]{0,3}"
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")


def _either_width(ascii_class: str) -> str:
    """A character class of these ASCII characters and their full-width forms."""
    wide = "".join(chr(ord(ch) + 0xFEE0) if ch not in "-" else ch for ch in ascii_class)
    return f"[{ascii_class}{wide}]"


def _spaced(*parts: str) -> str:
    return _SEPARATOR.join(parts)


def _pairs(*pairs: tuple[str, str]) -> str:
    """Alternatives of two characters (each given as an ASCII class), of either width, spaced."""
    return "(?:" + "|".join(_spaced(_either_width(a), _either_width(b)) for a, b in pairs) + ")"


_D = _either_width("0-9")
_AREA = _spaced(_either_width("1-8"), *[_D] * 5)
_CENTURY = _pairs(("1", "89"), ("2", "0"))
_MONTH = _pairs(("0", "1-9"), ("1", "0-2"))
_DAY = _pairs(("0", "1-9"), ("12", "0-9"), ("3", "01"))
_LONG = _spaced(_AREA, _CENTURY, _D, _D, _MONTH, _DAY, _D, _D, _D, _either_width("0-9Xx"))
_SHORT = _spaced(_AREA, _D, _D, _MONTH, _DAY, _D, _D, _D)  # GB 11643-1989: no century, no check
_EITHER_FORM = f"(?:{_LONG}|{_SHORT})"
# Not inside a longer run of digits (a number's own digits never start or end in the middle).
RESIDENT_ID_IN_TEXT = re.compile(f"(?<!{_D}){_EITHER_FORM}(?!{_D})")
_WHOLE = re.compile(_EITHER_FORM)
# Cheap test before the scan: at least 15 digits of either width.
_DIGITS = re.compile(_D)


def mask_resident_id(number: str) -> str:
    """A (validated) resident identity number as the public sees it."""
    return number[:SHOWN] + MASK


def _masked(found: re.Match[str]) -> str:
    """The found number's text up to its area code and birth year (as typed), then the mask; an old
    15-digit number keeps its area code and two-digit year."""
    text = found.group(0)
    keep = SHOWN if len(_DIGITS.findall(text)) >= 17 else 8  # 17 and a check X, or 18
    seen = 0
    for at, ch in enumerate(text):
        if _DIGITS.match(ch):
            seen += 1
            if seen == keep:
                return _INVISIBLE.sub("", text[: at + 1]) + MASK
    return MASK  # not reached: every match holds at least `keep` digits


def mask_identifier(kind: str, identifier_type: str, identifier: str) -> str:
    """A subject's identifier as the public sees it: a resident identity number keeps its area code
    and birth year only; a person's other number (a passport) its first and last characters; an
    organisation's code whole, but a person's number in it (pushed before app.kit.identifiers
    refused such identifiers) masked all the same."""
    if identifier_type == "resident_id":
        return mask_resident_id(identifier)
    if kind == "natural_person":
        keep = 2 if len(identifier) > 6 else 1
        return identifier[:keep] + "*" * (len(identifier) - 2 * keep) + identifier[-keep:]
    return mask_resident_ids(identifier)


def mask_resident_ids(text: str) -> str:
    """Every resident identity number in free text, masked; other text unchanged."""
    # Cheap on the common path (every request's path is logged): no scan unless the text holds
    # enough digits to be a number.
    if len(text) < 15 or len(_DIGITS.findall(text)) < 15:
        return text
    return RESIDENT_ID_IN_TEXT.sub(_masked, text)


def holds_resident_id(text: str) -> bool:
    """Whether a resident identity number (either form, however typed) stands anywhere in `text`."""
    return len(text) >= 15 and RESIDENT_ID_IN_TEXT.search(text) is not None


def is_resident_id(text: str) -> bool:
    """Whether `text` is, as a whole (surrounding spaces aside), shaped like a resident identity
    number of either form, however typed."""
    return _WHOLE.fullmatch(text.strip()) is not None
