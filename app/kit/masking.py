"""Resident identity numbers as the public and the logs may see them: area code and birth year only.

The court list (法释〔2017〕7号; DOMAIN.md, "Court listings") masks the birth month and day (positions
11–14) but shows the sequence and the check character: with a name and a rough birth date, anyone can
then confirm a guessed number offline (366 days, and the check character leaves about 33). Publication
of a person's data must be lawful and necessary (国办发〔2020〕49号), so the registry shows less than the
court list: the area code and the birth year (what tells two people of one name apart) and nothing from
position 11 on, which leaves nothing to check a guess against.
"""

import re

__all__ = ["RESIDENT_ID_IN_TEXT", "is_resident_id", "mask_resident_id", "mask_resident_ids"]

SHOWN = 10  # GB 11643-1999: 6-digit area code + 4-digit birth year
MASK = "*" * 8

# An 18-character resident identity number standing alone in text (GB 11643-1999 layout: area code
# 1-8xxxxx, a birth date of 18xx-20xx, sequence, check digit or X). The date's shape keeps most unified
# social credit codes (which begin 1, 5, 9 or Y and rarely carry a date there) unmasked.
_NUMBER = r"([1-8]\d{5}(?:18|19|20)\d{2})(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
RESIDENT_ID_IN_TEXT = re.compile(rf"(?<![0-9A-Za-z]){_NUMBER}(?![0-9A-Za-z])")
_WHOLE = re.compile(_NUMBER)


def mask_resident_id(number: str) -> str:
    """A (validated) resident identity number as the public sees it."""
    return number[:SHOWN] + MASK


def mask_resident_ids(text: str) -> str:
    """Every resident identity number in free text, masked; other text unchanged."""
    # Cheap on the common path (every request's path is logged): one scan, under a microsecond for a
    # path, and no substitution unless a number is there.
    if len(text) < 18 or RESIDENT_ID_IN_TEXT.search(text) is None:
        return text
    return RESIDENT_ID_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)


def is_resident_id(text: str) -> bool:
    """Whether `text` is, as a whole, shaped like a resident identity number."""
    return _WHOLE.fullmatch(text) is not None
