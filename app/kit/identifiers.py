"""Subject identifiers: the unified social credit code (GB 32100-2015) and the resident identity number
(GB 11643-1999), validated completely, plus a loose "other" form for subjects that have neither.

Every failure raises `IdentifierError`, whose text is a sentence a person can act on; the API puts it
unchanged into the 422 `fields[].detail` (API.md, Errors).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Literal

from app.kit.clock import add_months, china_today
from app.kit.masking import is_resident_id, resident_ids_in, shadow

__all__ = [
    "ADULT_AGE",
    "USCC_ALPHABET",
    "IdentifierError",
    "ResidentId",
    "complete_uscc",
    "is_registry_reference",
    "is_uscc",
    "looks_personal",
    "minor_on",
    "organization_code_check_character",
    "resident_id_check_character",
    "typed_code",
    "uscc_check_character",
    "validate_identifier",
    "validate_resident_id",
    "validate_uscc",
]


class IdentifierError(ValueError):
    """An identifier that cannot be accepted; str() is the human-readable reason."""


# --- Unified social credit code, GB 32100-2015 -------------------------------------------------------------

# GB 32100-2015 §4: the code uses the digits and the capital letters except I, O, S, V, Z (31 characters);
# a character's value in the check computation is its index in this string.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_CHARACTERS = frozenset(USCC_ALPHABET)
# GB 32100-2015 §5: weight of position i (1-based) is 3^(i-1) mod 31.
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_EXCLUDED = "IOSVZ"
_USCC_NAME = "unified social credit code"


def _uscc_check_alphabet(text: str) -> None:
    if _USCC_CHARACTERS.issuperset(text):  # the common case, in one C call
        return
    for position, ch in enumerate(text, start=1):
        if ch in _USCC_VALUE:
            continue
        if ch in _USCC_EXCLUDED:
            raise IdentifierError(
                f"{_USCC_NAME}, position {position}: character {ch!r} is not allowed "
                "(GB 32100-2015 alphabet excludes I, O, S, V, Z)"
            )
        raise IdentifierError(
            f"{_USCC_NAME}, position {position}: character {ch!r} is not allowed "
            "(GB 32100-2015 uses only digits 0-9 and capital letters A-Z without I, O, S, V, Z)"
        )


# GB 32100-2015 §4.1 表1, with the codes given to registration authorities since (登记管理部门代码):
# what the first character may be. A code whose authority does not exist cannot have been issued.
USCC_AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监督管理（工商）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
# GB 11714-1997 §5: the organization code's check over its first 8 characters, each weighted by
# position; digits count their value, letters A=10 ... Z=35.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {ch: int(ch, 36) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def organization_code_check_character(first8: str) -> str:
    """The 9th (check) character of an organization code (GB 11714-1997) for its first 8 characters:
    C9 = 11 − (Σ Ci·Wi mod 11), written X for 10 and 0 for 11."""
    if len(first8) != 8 or not (first8.isascii() and first8.isalnum()):
        raise IdentifierError(
            f"organization code: the check is computed over 8 digits or letters, got {first8!r}"
        )
    value = 11 - sum(map(mul, map(_ORG_VALUE.__getitem__, first8), _ORG_WEIGHTS)) % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def _uscc_check_structure(code: str) -> None:
    """What GB 32100-2015 §4 puts in a code besides its check character: the registration authority
    (1), the administrative division where it was registered (3-8, six digits of GB/T 2260, whose
    first digit is the region 1-8, as in a resident identity number) and the organization code
    (9-17, GB 11714, with its own check character). Any one of them wrong: the code was never issued."""
    if code[0] not in USCC_AUTHORITIES:
        raise IdentifierError(
            f"{_USCC_NAME}, position 1: {code[0]!r} is no registration authority's code "
            f"(GB 32100-2015: {', '.join(USCC_AUTHORITIES)})"
        )
    division = code[2:8]
    if not (division.isascii() and division.isdigit()) or division[0] in "09":
        raise IdentifierError(
            f"{_USCC_NAME}, positions 3-8: {division} is not an administrative division code "
            "(six digits, the first 1-8: GB/T 2260)"
        )
    expected = organization_code_check_character(code[8:16])
    if code[16] != expected:
        raise IdentifierError(
            f"{_USCC_NAME}, positions 9-17 are the organization code (GB 11714): its check character "
            f"should be {expected}, got {code[16]} (a character was probably mistyped)"
        )


def uscc_check_character(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a unified social credit code."""
    if len(first17) != 17:
        raise IdentifierError(f"{_USCC_NAME}: the check is computed over 17 characters, got {len(first17)}")
    _uscc_check_alphabet(first17)
    total = sum(map(mul, map(_USCC_VALUE.__getitem__, first17), _USCC_WEIGHTS))
    # GB 32100-2015 §5: C18 = 31 − (Σ Ci·Wi mod 31); a result of 31 becomes 0, hence the outer mod.
    return USCC_ALPHABET[(31 - total % 31) % 31]


def complete_uscc(first16: str) -> str:
    """The code whose first 16 characters these are: the organization code's check character and the
    code's own appended (for making codes: test data, demonstrations)."""
    first17 = first16 + organization_code_check_character(first16[8:16])
    return first17 + uscc_check_character(first17)


def validate_uscc(code: str) -> str:
    """Validate a unified social credit code and return it normalized (trimmed, upper case).

    Structure (GB 32100-2015 §4): 1 registration authority, 2 entity type, 3-8 administrative division,
    9-17 organization code, 18 check character. The alphabet, the authority, the division's form, the
    organization code's own check and the check character are enforced (API.md: never a signed
    "clear" for a code that cannot exist); the first characters may be letters (e.g. "N" agriculture,
    "Y" other authorities), which is why python-stdnum, which demands leading digits, is not used.
    """
    normalized = code.strip().upper()
    if len(normalized) != 18:
        raise IdentifierError(f"{_USCC_NAME} must be 18 characters, got {len(normalized)}")
    _uscc_check_alphabet(normalized)
    _uscc_check_structure(normalized)
    expected = uscc_check_character(normalized[:17])
    if normalized[17] != expected:
        raise IdentifierError(
            f"{_USCC_NAME}: check character should be {expected}, got {normalized[17]} "
            "(a character was probably mistyped)"
        )
    return normalized


# --- Resident identity number, GB 11643-1999 ---------------------------------------------------------------

# GB 11643-1999 §7: weight of position i is 2^(18-i) mod 11; the check maps Σ mod 11 through this table.
_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"
_RID_ZERO_OFFSET = ord("0") * sum(_RID_WEIGHTS)
_RID_NAME = "resident identity number"
_EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class ResidentId:
    """A validated resident identity number and what GB 11643-1999 §5 encodes in it."""

    number: str
    area_code: str
    birth_date: date
    sequence: str
    sex: Literal["male", "female"]


def resident_id_check_character(first17: str) -> str:
    """The 18th (check) character for the first 17 digits of a resident identity number."""
    if len(first17) != 17:
        raise IdentifierError(f"{_RID_NAME}: the check is computed over 17 digits, got {len(first17)}")
    _rid_check_digits(first17)
    # Σ digit·weight over the ASCII codes: Σ (code − 48)·w = Σ code·w − 48·Σ w.
    total = sum(map(mul, first17.encode(), _RID_WEIGHTS)) - _RID_ZERO_OFFSET
    return _RID_CHECK[total % 11]


def _rid_check_digits(first17: str) -> None:
    if first17.isascii() and first17.isdigit():  # the common case, in two C calls
        return
    for position, ch in enumerate(first17, start=1):
        # str.isdigit() accepts e.g. full-width and superscript digits; GB 11643-1999 means ASCII 0-9.
        if ch not in "0123456789":
            raise IdentifierError(
                f"{_RID_NAME}: characters 1-17 must be digits, but character {ch!r} at position {position} "
                "is not"
            )


def validate_resident_id(number: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-digit resident identity number (GB 11643-1999) and decode it.

    Surrounding whitespace is dropped and a lower-case check character x becomes X. The birth date must be
    a real calendar date between 1900-01-01 and `today` (default: the registry's day in China, the same day
    a decision date is checked against, whatever the host's time zone).
    """
    normalized = number.strip().upper()
    if len(normalized) == 15 and normalized.isascii() and normalized.isdigit():
        # The 15-digit form (GB 11643-1989) has no check digit and a 2-digit year; it cannot be validated.
        raise IdentifierError(
            f"{_RID_NAME}: the old 15-digit form is not accepted; only the 18-digit GB 11643-1999 form is"
        )
    if len(normalized) != 18:
        raise IdentifierError(f"{_RID_NAME} must be 18 characters, got {len(normalized)}")
    _rid_check_digits(normalized[:17])
    if normalized[17] not in _RID_CHECK:
        raise IdentifierError(f"{_RID_NAME}: the last character must be a digit or X, got {normalized[17]!r}")

    # GB 11643-1999 §5.1 / GB/T 2260: the area code's first digit is the region, 1-8; 0 and 9 are unused.
    area_code = normalized[:6]
    if area_code[0] in "09":
        raise IdentifierError(
            f"{_RID_NAME}: area code {area_code} is not valid (the first digit must be 1-8, GB/T 2260)"
        )

    # GB 11643-1999 §5.2: positions 7-14 are the birth date as YYYYMMDD.
    birth_text = normalized[6:14]
    try:
        birth_date = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise IdentifierError(f"{_RID_NAME}: birth date {birth_text} is not a real date") from None
    if birth_date < _EARLIEST_BIRTH:
        raise IdentifierError(f"{_RID_NAME}: birth date {birth_text} is before 1900-01-01")
    reference = today if today is not None else china_today()
    if birth_date > reference:
        raise IdentifierError(
            f"{_RID_NAME}: birth date {birth_text} is in the future (today is {reference.isoformat()})"
        )

    expected = resident_id_check_character(normalized[:17])
    if normalized[17] != expected:
        raise IdentifierError(
            f"{_RID_NAME}: check character should be {expected}, got {normalized[17]} "
            "(a digit was probably mistyped)"
        )

    # GB 11643-1999 §5.3: the sequence code's last digit is odd for men, even for women.
    sequence = normalized[14:17]
    sex: Literal["male", "female"] = "male" if int(sequence[-1]) % 2 == 1 else "female"
    return ResidentId(
        number=normalized, area_code=area_code, birth_date=birth_date, sequence=sequence, sex=sex
    )


# --- Dispatch and age -------------------------------------------------------------------------------------

_OTHER_MAX = 64
# The references the registry issues to organisations without a code (app.records.references): "R",
# the GB/T 2260 jurisdiction, 10 hexadecimal digits. Read whatever their case.
REGISTRY_REFERENCE = re.compile(r"R[0-9]{6}[0-9A-F]{10}", re.IGNORECASE)


def is_registry_reference(identifier: str) -> bool:
    return REGISTRY_REFERENCE.fullmatch(identifier) is not None


def validate_identifier(identifier_type: str, identifier: str) -> str:
    """Validate `identifier` as `identifier_type` ("uscc", "resident_id" or "other"); return it normalized."""
    if identifier_type == "uscc":
        return validate_uscc(identifier)
    if identifier_type == "resident_id":
        return validate_resident_id(identifier).number
    if identifier_type == "other":
        # Subjects with neither code (e.g. foreign entities, permit numbers) still need a stable key.
        normalized = identifier.strip()
        if not normalized:
            raise IdentifierError("identifier must not be empty")
        if len(normalized) > _OTHER_MAX:
            raise IdentifierError(
                f"identifier must be at most {_OTHER_MAX} characters, got {len(normalized)}"
            )
        for position, ch in enumerate(normalized, start=1):
            if not ch.isprintable():
                raise IdentifierError(
                    f"identifier contains a control or non-printable character {ch!r} at position {position}"
                )
        _refuse_a_code_of_a_standard(normalized)
        # A registry reference typed in lower case is still that reference.
        return normalized.upper() if is_registry_reference(normalized) else normalized
    raise IdentifierError(f"identifier type {identifier_type!r} is not one of 'uscc', 'resident_id', 'other'")


def _refuse_a_code_of_a_standard(identifier: str) -> None:
    """An "other" identifier that is (or holds) a resident identity number or a unified social credit
    code, however typed: given as "other" it would escape what its standard's type brings (a
    person's number masked in every public answer and never confirmed by a lookup; no black listing
    of a minor, 国办发〔2020〕49号 and 法释〔2017〕7号), and a second agency giving the same number
    under its proper type would be refused as a clash. Only numbers whose check character holds:
    a 15-digit run shaped like the old form could as well be a pre-2015 registration number (which
    "other" is for)."""
    for number in resident_ids_in(identifier):
        try:
            validate_resident_id(number)
        except IdentifierError:
            continue
        raise IdentifierError(
            "this identifier holds a resident identity number: give a person's number as "
            "identifier_type resident_id (the 18-digit form), so that the rules for persons apply"
        )
    compact = _compact(identifier)
    # A code anywhere in it (glued to a prefix or a suffix) as much as the whole.
    for start in range(len(compact) - 17):
        try:
            code = validate_uscc(compact[start : start + 18])
        except IdentifierError:
            continue
        raise IdentifierError(
            f"this identifier holds the unified social credit code {code}: give it as identifier_type uscc"
        )


def is_uscc(text: str) -> bool:
    """Whether `text` is a valid unified social credit code as it stands."""
    try:
        validate_uscc(text)
    except IdentifierError:
        return False
    return True


def looks_personal(code: str) -> bool:
    """Whether a public query's code must be treated as a person's number: shaped like a resident
    identity number and not a valid unified social credit code. A code can be both (a division code
    and organization code that read as an area and a birth date, its check characters holding: about
    1 in 341 of those shapes); it names an organisation, and public lookups reach organisations only."""
    return is_resident_id(code) and not is_uscc(code)


def typed_code(text: str) -> str:
    """A code as someone may type it into a search box: spaces anywhere taken out, upper case, and
    full-width characters (９１３７０４００ＭＡ…) read as ASCII where that makes the whole of it ASCII."""
    compact = "".join(text.split()).upper()
    if compact.isascii():
        return compact
    folded = unicodedata.normalize("NFKC", compact).upper()
    return folded if folded.isascii() else compact


def _compact(text: str) -> str:
    """Letters and ASCII digits only, upper case: every digit of any form its ASCII digit, every
    separator, mark or invisible character gone (app.kit.masking.shadow)."""
    shadowed = shadow(unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in shadowed if ch != "_").upper()


ADULT_AGE = 18


def minor_on(birth_date: date, day: date) -> bool:
    """Whether a person born on `birth_date` is still a minor on `day`. Full age is reached the day
    after the 18th birthday: a period in years leaves out its first day and ends on the matching
    day, or the month's last day where there is none (民法典 第二百零一条、第二百零二条; 法释〔2006〕1号
    第二条 says so of 周岁): born 15 June 2008, of full age from 16 June 2026; born 29 February
    2008, from 1 March 2026."""
    return day <= add_months(birth_date, 12 * ADULT_AGE)


def resident_id_birth_date(number: str) -> date:
    """The birth date written in an already validated resident identity number (positions 7–14)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def recognize(identifier: str) -> tuple[str, str]:
    """The standard an identifier follows ("uscc" or "resident_id"; "other" for a reference the
    registry issues) and its normal form, for a caller that gives the identifier alone. Raises
    IdentifierError saying why it is none: an approver must never be told "clear" about a code that
    cannot exist."""
    normalized = identifier.strip().upper()
    typed = typed_code(normalized)
    if is_registry_reference(typed):  # the registry's own: its shape is its standard
        return "other", typed
    if len(normalized) != 18:
        raise IdentifierError(
            "an identifier given alone must be an 18-character unified social credit code or resident "
            f"identity number, got {len(normalized)} characters; for any other identifier give "
            'identifier_type "other"'
        )
    try:
        return "uscc", validate_uscc(normalized)
    except IdentifierError as not_uscc:
        try:
            return "resident_id", validate_resident_id(normalized).number
        except IdentifierError as not_resident_id:
            raise IdentifierError(
                f"not a valid unified social credit code ({not_uscc}) nor resident identity number "
                f'({not_resident_id}); for any other identifier give identifier_type "other"'
            ) from None
