"""Identifier validation: GB 32100-2015 (unified social credit code) and GB 11643-1999 (resident ID)."""

from datetime import date

import pytest

from app.kit.identifiers import (
    USCC_ALPHABET,
    IdentifierError,
    ResidentId,
    complete_uscc,
    minor_on,
    organization_code_check_character,
    resident_id_check_character,
    uscc_check_character,
    validate_identifier,
    validate_resident_id,
    validate_uscc,
)

# A real, published code (a Fuzhou enterprise). By hand, over values 0-9, A=10 ... M=21 ... Y=30:
#   9·1 + 1·3 + 3·9 + 5·27 + 0·19 + 1·26 + 0·16 + 0·17 + M(21)·20 + 0·29 + 0·25 + 0·13 + 1·8 + 0·24
#   + 0·10 + Y(30)·30 + 4·28 = 9+3+27+135+26+420+8+900+112 = 1640; 1640 mod 31 = 28; 31 − 28 = 3.
REAL_USCC = "91350100M000100Y43"

# Codes whose first characters are letters, as GB 32100-2015 allows (N: agriculture authority, Y: other,
# A: central establishment office). The organization code MA000000? (GB 11714) by hand, values
# M=22, A=10, weights 3,7,9,10,5,8,4,2: 66 + 70 = 136; 136 mod 11 = 4; 11 − 4 = 7.
# Check of N1110000MA0000007? by hand (GB 32100 values: N=22, M=21, A=10, R=25):
#   N(22)·1 + 1·3 + 1·9 + 1·27 + M(21)·20 + A(10)·29 + 7·28 = 22+3+9+27+420+290+196 = 967;
#   967 mod 31 = 6; 31 − 6 = 25: R.
LETTER_USCC = "N1110000MA0000007R"
GOOD_USCCS = [
    REAL_USCC,
    LETTER_USCC,
    complete_uscc("Y1110000MA000000"),
    complete_uscc("A1110000MA000000"),
    # Further published codes of registered enterprises (a random 18-character string passes with p = 1/31),
    # two of them with an organization code given after 2015 (MA…).
    "91440300708461136T",
    "91110000802100433B",
    "91330100799655058B",
    "91440300MA5H0HLK5U",
    "91133100MA0D8N1J7G",
]

# The worked example printed in GB 11643-1999 itself. By hand, digits × weights 7,9,10,5,8,4,2,1,6,3,7,9,10,
# 5,8,4,2: 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2; "10X98765432"[2] = X.
STANDARD_RID = "11010519491231002X"
TODAY = date(2026, 6, 1)


def _rid(first17: str) -> str:
    return first17 + resident_id_check_character(first17)


GOOD_RIDS = [
    STANDARD_RID,
    _rid("44052419800101001"),
    _rid("32010220000229123"),  # born on a leap day
    _rid("81000019000101000"),  # Hong Kong residents' prefix 81, earliest accepted birth date
    _rid("65010220260601456"),  # born "today"
]


def _independent_uscc_check(first17: str) -> str:
    """A second, deliberately naive implementation straight from the standard's formula."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(ch) * (3**i % 31) for i, ch in enumerate(first17))
    return alphabet[(31 - total % 31) % 31]


# --- USCC ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", GOOD_USCCS)
def test_good_uscc_is_accepted(code: str) -> None:
    assert validate_uscc(code) == code


@pytest.mark.parametrize("code", GOOD_USCCS)
def test_check_recomputed_independently(code: str) -> None:
    assert _independent_uscc_check(code[:17]) == code[17]


def test_hand_computed_checks() -> None:
    assert uscc_check_character(REAL_USCC[:17]) == "3"
    assert uscc_check_character(LETTER_USCC[:17]) == "R"
    assert organization_code_check_character(LETTER_USCC[8:16]) == "7"
    assert organization_code_check_character(REAL_USCC[8:16]) == "4"  # M000100Y: 66 + 5 + 68 = 139 → 4


def test_uscc_whitespace_and_lower_case_are_normalized() -> None:
    assert validate_uscc("  91350100m000100y43\n") == REAL_USCC
    assert validate_uscc("\tn1110000ma0000007r ") == LETTER_USCC


@pytest.mark.parametrize("position", range(18))
@pytest.mark.parametrize("code", [REAL_USCC, LETTER_USCC])
def test_every_single_character_change_fails(code: str, position: int) -> None:
    # 31 is prime and no weight is 0 mod 31, so any one substitution changes the weighted sum mod 31.
    for replacement in USCC_ALPHABET + "IOSVZ-* ":
        if replacement == code[position]:
            continue
        corrupted = code[:position] + replacement + code[position + 1 :]
        with pytest.raises(IdentifierError):
            validate_uscc(corrupted)


@pytest.mark.parametrize("position", range(16))
def test_adjacent_transposition_fails(position: int) -> None:
    code = REAL_USCC
    if code[position] == code[position + 1]:
        return
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    with pytest.raises(IdentifierError):
        validate_uscc(swapped)


# Codes whose check character is right but which no authority can have issued (the 18th character
# alone lets one random string in 31 through).
_ORG_WRONG = "91350100M000100Y5"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("000000000000000000", "position 1: '0' is no registration authority's code"),
        ("X1000000000000000Y", "position 1: 'X' is no registration authority's code"),
        ("YYYYYYYYYYYYYYYYYT", "positions 3-8: YYYYYY is not an administrative division code"),
        ("AAAAAAAAAAAAAAAAAK", "positions 3-8: AAAAAA is not an administrative division code"),
        ("91000000" + "000000000" + "0", "positions 3-8: 000000"),
        (
            _ORG_WRONG + uscc_check_character(_ORG_WRONG),
            "organization code (GB 11714): its check character should be 4, got 5",
        ),
    ],
)
def test_a_code_that_was_never_issued_is_refused(code: str, says: str) -> None:
    if not code.startswith("91000000"):
        assert uscc_check_character(code[:17]) == code[17]  # only the structure is wrong
    with pytest.raises(IdentifierError) as caught:
        validate_uscc(code)
    assert says in str(caught.value)


def test_codes_completed_from_any_sixteen_characters_validate() -> None:
    for number in range(2000):
        organization = f"{number * 7919 % 100_000_000:08d}"
        code = complete_uscc(f"9{'1235'[number % 4]}3704{number % 100:02d}{organization}")
        assert validate_uscc(code) == code


def test_wrong_check_character_message() -> None:
    with pytest.raises(IdentifierError, match="check character should be 3, got 4"):
        validate_uscc("91350100M000100Y44")


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", "", "   "])
def test_uscc_wrong_length(code: str) -> None:
    with pytest.raises(IdentifierError, match=f"must be 18 characters, got {len(code.strip())}"):
        validate_uscc(code)


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_uscc_forbidden_letters(letter: str) -> None:
    code = REAL_USCC[:8] + letter + REAL_USCC[9:]
    with pytest.raises(IdentifierError) as caught:
        validate_uscc(code)
    assert f"character {letter!r} is not allowed (GB 32100-2015 alphabet excludes I, O, S, V, Z)" in str(
        caught.value
    )
    assert "position 9" in str(caught.value)


def test_uscc_other_characters_rejected() -> None:
    with pytest.raises(IdentifierError, match="character '-' is not allowed"):
        validate_uscc("91350100-000100Y43")
    with pytest.raises(IdentifierError, match="is not allowed"):
        validate_uscc("９1350100M000100Y43")  # full-width digit


def test_uscc_check_character_requires_17() -> None:
    with pytest.raises(IdentifierError):
        uscc_check_character("9135")


# --- Resident identity number -----------------------------------------------------------------------------


def test_standard_example_decodes() -> None:
    assert resident_id_check_character(STANDARD_RID[:17]) == "X"
    rid = validate_resident_id(STANDARD_RID, today=TODAY)
    assert rid == ResidentId(
        number=STANDARD_RID, area_code="110105", birth_date=date(1949, 12, 31), sequence="002", sex="female"
    )


@pytest.mark.parametrize("number", GOOD_RIDS)
def test_good_resident_ids(number: str) -> None:
    assert validate_resident_id(number, today=TODAY).number == number


def test_sex_from_sequence_parity() -> None:
    assert validate_resident_id(_rid("44052419800101001"), today=TODAY).sex == "male"
    assert validate_resident_id(_rid("44052419800101002"), today=TODAY).sex == "female"


def test_lower_case_x_is_normalized() -> None:
    rid = validate_resident_id(" 11010519491231002x ", today=TODAY)
    assert rid.number == STANDARD_RID


@pytest.mark.parametrize("position", range(18))
@pytest.mark.parametrize("number", [STANDARD_RID, GOOD_RIDS[1]])
def test_every_single_digit_change_fails(number: str, position: int) -> None:
    # 11 is prime and no weight is 0 mod 11, so any one substitution changes the weighted sum mod 11.
    for replacement in "0123456789XA ":
        if replacement == number[position]:
            continue
        corrupted = number[:position] + replacement + number[position + 1 :]
        with pytest.raises(IdentifierError):
            validate_resident_id(corrupted, today=TODAY)


def test_february_30_is_not_a_date() -> None:
    with pytest.raises(IdentifierError, match="birth date 19900230 is not a real date"):
        validate_resident_id(_rid("11010519900230001"), today=TODAY)
    with pytest.raises(IdentifierError, match="birth date 19901332 is not a real date"):
        validate_resident_id(_rid("11010519901332001"), today=TODAY)
    with pytest.raises(IdentifierError, match="birth date 19000229 is not a real date"):  # 1900 not leap
        validate_resident_id(_rid("11010519000229001"), today=TODAY)


def test_future_birth_date() -> None:
    number = _rid("11010520260602001")
    with pytest.raises(IdentifierError, match="birth date 20260602 is in the future"):
        validate_resident_id(number, today=TODAY)
    assert validate_resident_id(number, today=date(2026, 6, 2)).birth_date == date(2026, 6, 2)


def test_birth_before_1900() -> None:
    # GB 11643-1999's own second example (440524188001010014) is born in 1880: refused as implausible.
    with pytest.raises(IdentifierError, match="before 1900-01-01"):
        validate_resident_id("440524188001010014", today=TODAY)


def test_fifteen_digit_old_form_refused() -> None:
    with pytest.raises(IdentifierError, match="only the 18-digit GB 11643-1999 form is"):
        validate_resident_id("110105491231002", today=TODAY)


@pytest.mark.parametrize("number", ["11010519491231002", "11010519491231002XX", "1101051949123100"])
def test_resident_id_wrong_length(number: str) -> None:
    with pytest.raises(IdentifierError, match=f"must be 18 characters, got {len(number)}"):
        validate_resident_id(number, today=TODAY)


@pytest.mark.parametrize("prefix", ["0", "9"])
def test_area_code_first_digit(prefix: str) -> None:
    number = _rid(prefix + "1010519491231002")
    with pytest.raises(IdentifierError, match="first digit must be 1-8"):
        validate_resident_id(number, today=TODAY)


def test_non_digit_body() -> None:
    with pytest.raises(IdentifierError, match="must be digits"):
        validate_resident_id("1101051949123100X2", today=TODAY)


def test_default_today_is_the_registry_clock_in_china(clock) -> None:
    # 07:00 in China on 22 November is still 21 November in UTC (and on a host running on UTC), and the
    # host's real date is another day again: only the registry's China day may count.
    clock("2026-11-22T07:00")
    born_today = _rid("11010520261122002")
    assert validate_resident_id(born_today).birth_date == date(2026, 11, 22)
    with pytest.raises(IdentifierError, match=r"in the future \(today is 2026-11-22\)"):
        validate_resident_id(_rid("11010520261123002"))
    assert validate_resident_id(STANDARD_RID).birth_date.year == 1949


# --- Dispatch and age ---------------------------------------------------------------------------------------


def test_validate_identifier_dispatch() -> None:
    assert validate_identifier("uscc", " 91350100m000100y43") == REAL_USCC
    assert validate_identifier("resident_id", "11010519491231002x") == STANDARD_RID
    assert validate_identifier("other", "  HK-BR 12345678 ") == "HK-BR 12345678"
    assert validate_identifier("other", "境外机构 No.7") == "境外机构 No.7"


@pytest.mark.parametrize("value", ["", "   ", "a" * 65, "abc\x00def", "line\nbreak", "tab\there"])
def test_other_rejects(value: str) -> None:
    with pytest.raises(IdentifierError):
        validate_identifier("other", value)


def test_other_limits() -> None:
    assert validate_identifier("other", "a" * 64) == "a" * 64
    assert validate_identifier("other", "x") == "x"


def test_unknown_identifier_type() -> None:
    with pytest.raises(IdentifierError, match="not one of"):
        validate_identifier("passport", "E12345678")


def test_identifier_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        validate_identifier("uscc", "nope")


def test_full_age_comes_the_day_after_the_18th_birthday() -> None:
    # 民法典 第二百零一条、第二百零二条: the first day is left out, the period ends on the matching day
    # (or the month's last day); 法释〔2006〕1号 第二条: 周岁 from the day after the birthday.
    born = date(2008, 6, 15)
    assert minor_on(born, date(2026, 6, 14))
    assert minor_on(born, date(2026, 6, 15))  # the 18th birthday itself
    assert not minor_on(born, date(2026, 6, 16))
    assert minor_on(born, born) and minor_on(born, date(2007, 1, 1))
    leap = date(2008, 2, 29)
    assert minor_on(leap, date(2026, 2, 28))  # no 29 February: the period ends on the 28th
    assert not minor_on(leap, date(2026, 3, 1))
