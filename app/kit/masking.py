"""Resident identity numbers as the public and the logs may see them: area code and birth year only.

The court list (法释〔2017〕7号; DOMAIN.md, "Court listings") masks the birth month and day (positions
11–14) but shows the sequence and the check character: with a name and a rough birth date, anyone can
then confirm a guessed number offline (366 days, and the check character leaves about 33). Publication
of a person's data must be lawful and necessary (国办发〔2020〕49号), so the registry shows less than the
court list: the area code and the birth year (what tells two people of one name apart) and nothing from
position 11 on, which leaves nothing to check a guess against. One mask everywhere: two different
masks of one number would together show more than either.

Numbers are found in free text however a clerk typed them: digits of any script or form
(３７０４…, 𝟑𝟕𝟎𝟒…, ٣٧٠٤…, 三七〇四…), groups apart ("370402 19800512 1237", "370402・19800512・1237",
"(370402)19800512(1237)"), invisible characters inside, glued to letters ("ID370402…"), and the old
15-digit form (GB 11643-1989: two-digit year, no check character).
"""

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "holds_resident_id",
    "is_resident_id",
    "mask_identifier",
    "mask_resident_id",
    "mask_resident_ids",
    "resident_ids_in",
    "shadow",
]

SHOWN = 10  # GB 11643-1999: 6-digit area code + 4-digit birth year
MASK = "*" * 8

# A resident identity number (GB 11643-1999 layout: area code 1-8xxxxx, a birth date of 18xx-20xx,
# sequence, check digit or X; GB 11643-1989: the same with a two-digit year and no check). The
# date's shape keeps most unified social credit codes (which begin 1, 5, 9 or Y and rarely carry a
# date there) unmasked.
#
# Numbers are looked for in a shadow of the text, one character for each of its characters: every
# digit of any script or form (full width, mathematical, superscript, circled, Arabic-Indic...) its
# ASCII digit, an X of any form "X", any punctuation, symbol, space, control or combining mark "_",
# anything else (letters, Han characters) itself. A number may have separators between any two of
# its characters; letters end it. Positions in the shadow are positions in the text.
_SEPARATED = "_*"


def _spaced(*parts: str) -> str:
    return _SEPARATED.join(parts)


def _pairs(*pairs: tuple[str, str]) -> str:
    """Alternatives of two characters (each an ASCII class), separators allowed between them."""
    return "(?:" + "|".join(_spaced(f"[{a}]", f"[{b}]") for a, b in pairs) + ")"


_D = "[0-9]"
_AREA = _spaced("[1-8]", *[_D] * 5)
_CENTURY = _pairs(("1", "89"), ("2", "0"))
_MONTH = _pairs(("0", "1-9"), ("1", "0-2"))
_DAY = _pairs(("0", "1-9"), ("12", "0-9"), ("3", "01"))
_LONG = _spaced(_AREA, _CENTURY, _D, _D, _MONTH, _DAY, _D, _D, _D, "[0-9X]")
# The full form without its check character: the first 17 digits tell the 18th (GB 11643-1999's
# checksum), so a number typed without it is the whole number all the same.
_UNCHECKED = _spaced(_AREA, _CENTURY, _D, _D, _MONTH, _DAY, _D, _D, _D)
_SHORT = _spaced(_AREA, _D, _D, _MONTH, _DAY, _D, _D, _D)  # GB 11643-1989: no century, no check
_EITHER_FORM = f"(?:{_LONG}|{_SHORT})"
# The full form wherever it stands, even inside a longer run of digits (a case number typed before
# it, a digit after it: its check character makes a chance match inside other digits rare); without
# its check character, where no digit follows; the old form, with no check character, only standing
# alone.
_IN_TEXT = re.compile(f"{_LONG}|{_UNCHECKED}(?![0-9])|(?<![0-9]){_SHORT}(?![0-9])")
_WHOLE = re.compile(f"_*(?:{_EITHER_FORM}|{_UNCHECKED})_*")
_WHOLE_CURRENT = re.compile(f"_*(?:{_LONG}|{_UNCHECKED})_*")  # GB 11643-1999's form, checked or not
_ASCII_SHADOW = (
    {code: "_" if not chr(code).isalnum() else "X" if chr(code) in "Xx" else chr(code) for code in range(128)}
    | {ord(letter): digit for letter, digit in (("O", "0"), ("o", "0"), ("l", "1"), ("I", "1"))}
    | {ord(mark): "|" for mark in ",;:"}
)


# Digits written as Han numerals (三七〇四〇五…), as a number is read out and sometimes typed: the
# common ones, the financial ones of contracts and receipts (壹贰叁…, simplified and traditional), and
# 幺, the "one" of numbers read aloud.
_HAN_DIGITS = (
    {character: str(value) for value, character in enumerate("〇一二三四五六七八九")}
    | {character: str(value) for value, character in enumerate("零壹贰叁肆伍陆柒捌玖")}
    | {"貳": "2", "參": "3", "叄": "3", "陸": "6", "幺": "1"}
)
# The check character X as typed by hand or by a font: a multiplication sign, a cross.
_X_FORMS = frozenset("×✕✖⨯╳")
# Characters read as digits that Unicode gives no digit value: the 两 of 2, the radio alphabet's 洞 幺
# 拐 勾 (0 1 7 9), and letters typed for digits (O and o, Latin or Cyrillic, for 0; l and I for 1).
# Codes never hold I or O (GB 32100 leaves them out), so no organisation's code is misread.
_READ_AS_DIGITS = (
    {"两": "2", "洞": "0", "拐": "7", "勾": "9"}
    | dict.fromkeys("OoОоΟο○◯", "0")  # Latin, Cyrillic, Greek; the circles of 二○二六年
    | dict.fromkeys("lI", "1")
)
# List punctuation ends a number: "2020-01-01、2021-01-01" or "第1、2、3条" are several numbers, never
# one, whatever separators a number may hold.
_BREAKS = frozenset("、，,;；:：")


_DIGIT_VALUES = frozenset(float(value) for value in range(10))


@lru_cache(maxsize=16384)
def _shadow_char(character: str) -> str:
    digit = unicodedata.digit(character, None)
    if digit is not None:
        return str(digit)
    if character in _HAN_DIGITS:
        return _HAN_DIGITS[character]
    if character in _BREAKS:
        return "|"
    folded = unicodedata.normalize("NFKC", character)  # Ｏ, ｌ, 𝐎 … as the letters they are
    if character in _READ_AS_DIGITS or folded in _READ_AS_DIGITS:
        return _READ_AS_DIGITS.get(character) or _READ_AS_DIGITS[folded]
    # Other characters with a digit's value: Suzhou numerals (〡〢〣…), Roman numerals (Ⅰ–Ⅸ), ideographs
    # in parentheses or circles (㈢ ㊂), the Japanese forms (壱弐参).
    value = unicodedata.numeric(character, None)
    if value is not None and value in _DIGIT_VALUES:
        return str(int(value))
    if character in _X_FORMS or folded in ("X", "x"):
        return "X"
    if unicodedata.category(character)[0] in "PSZCM":
        return "_"
    return character


def shadow(text: str) -> str:
    """The text as numbers are looked for in it, one character for each of its characters."""
    if text.isascii():
        return text.translate(_ASCII_SHADOW)
    return "".join(map(_shadow_char, text))


def _digits(shadowed: str) -> int:
    return sum(shadowed.count(digit) for digit in "0123456789")


def mask_resident_id(number: str) -> str:
    """A (validated) resident identity number as the public sees it."""
    return number[:SHOWN] + MASK


def _masked(text: str, start: int, end: int, shadowed: str) -> str:
    """The found number's text up to its area code and birth year (as typed), then the mask; an old
    15-digit number keeps its area code and two-digit year."""
    keep = SHOWN if _digits(shadowed[start:end]) >= 17 else 8  # 17 (and a check X or digit, or none)
    seen = 0
    for at in range(start, end):
        if shadowed[at].isdigit():
            seen += 1
            if seen == keep:
                return text[start : at + 1] + MASK
    return MASK  # not reached: every match holds at least `keep` digits


def mask_identifier(kind: str, identifier_type: str, identifier: str) -> str:
    """A subject's identifier as the public sees it: a resident identity number keeps its area code
    and birth year only; a person's other number (a passport) its first and last characters; an
    organisation's code whole, but a person's number in it (pushed before app.kit.identifiers
    refused such identifiers) masked all the same."""
    if identifier_type == "resident_id":
        return mask_resident_id(identifier)
    if identifier_type == "uscc":
        return identifier  # validated as a code when pushed: an organisation's, shown whole
    if kind == "natural_person":
        keep = 2 if len(identifier) > 6 else 1
        return identifier[:keep] + "*" * (len(identifier) - 2 * keep) + identifier[-keep:]
    return mask_resident_ids(identifier)


def _too_few_digits(text: str) -> bool:
    """Whether the text holds too few digits of any form to hold a number (the common case: every
    request's path is logged, every public field scrubbed). str.isnumeric counts what the shadow
    reads as digits (str.isdigit's characters, the Han numerals) and a few more (fractions)."""
    if len(text) < 15:
        return True
    digits = sum(map(str.isnumeric, text))
    if digits >= 15:
        return False
    # Letters and circles typed for digits (Ｏ and 𝐎 as O): counted only when they could make up the
    # rest of a number.
    return digits < 6 or digits + sum(map(_read_as_digit, text)) < 15


def _read_as_digit(character: str) -> bool:
    return character in _READ_AS_DIGITS or (
        not character.isascii() and unicodedata.normalize("NFKC", character) in _READ_AS_DIGITS
    )


def mask_resident_ids(text: str) -> str:
    """Every resident identity number in free text, masked; other text unchanged."""
    if _too_few_digits(text):
        return text
    shadowed = shadow(text)
    pieces, last = [], 0
    for found in _IN_TEXT.finditer(shadowed):
        pieces += [text[last : found.start()], _masked(text, found.start(), found.end(), shadowed)]
        last = found.end()
    return "".join(pieces) + text[last:] if pieces else text


def resident_ids_in(text: str) -> list[str]:
    """The numbers shaped like resident identity numbers in the text, however typed, as ASCII
    digits (and X)."""
    if _too_few_digits(text):
        return []
    shadowed = shadow(text)
    return [
        "".join(ch for ch in found.group(0) if ch.isdigit() or ch == "X")
        for found in _IN_TEXT.finditer(shadowed)
    ]


def holds_resident_id(text: str) -> bool:
    """Whether a resident identity number (either form, however typed) stands anywhere in `text`."""
    return bool(resident_ids_in(text))


def is_resident_id(text: str, *, old_form: bool = True) -> bool:
    """Whether `text` is, as a whole (separators around it aside), shaped like a resident identity
    number of either form (`old_form`: the 15-digit one too), with or without its check character,
    however typed."""
    return (_WHOLE if old_form else _WHOLE_CURRENT).fullmatch(shadow(text)) is not None
