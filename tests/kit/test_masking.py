"""A person's number masked in free text however it was typed; one mask for every form."""

import pytest

from app.kit.identifiers import IdentifierError, validate_identifier
from app.kit.masking import holds_resident_id, is_resident_id, mask_identifier, mask_resident_ids
from tests.conftest import make_uscc

NUMBER = "370402198005121237"
SHOWN = "3704021980"


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        (f"身份证{NUMBER}号", f"身份证{SHOWN}********号"),
        ("身份证３７０４０２１９８００５１２１２３７", "身份证３７０４０２１９８０********"),
        ("370402 19800512 1237", "370402 1980********"),
        ("370402-19800512-1237", "370402-1980********"),
        ("3704021980\u200b05121237", f"{SHOWN}********"),  # an invisible space inside
        (f"ID{NUMBER}", f"ID{SHOWN}********"),  # glued to letters
        (f"ABC{NUMBER}DEF", f"ABC{SHOWN}********DEF"),
        ("37040219800512123x", f"{SHOWN}********"),
        ("370402800512123", "37040280********"),  # GB 11643-1989's 15 digits
        (f"电话 13812345678，{NUMBER}", f"电话 13812345678，{SHOWN}********"),
        (f"{NUMBER}, 13812345678", f"{SHOWN}********, 13812345678"),
        # digits of other scripts and forms, other separators (an outside review's list)
        ("".join(chr(0x1D7CE + int(d)) for d in NUMBER), None),  # mathematical bold
        ("".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in NUMBER), None),  # superscript
        ("".join(chr(0x0660 + int(d)) for d in NUMBER), None),  # Arabic-Indic
        ("".join(chr(0x0966 + int(d)) for d in NUMBER), None),  # Devanagari
        ("370402・19800512・1237", "370402・1980********"),
        ("370402－19800512－1237", "370402－1980********"),
        ("370402    19800512    1237", "370402    1980********"),
        ("(370402)19800512(1237)", "(370402)1980********)"),
        ("370402\u034f19800512\ufe0f1237", "370402\u034f1980********"),
        # inside a longer run of digits, and in Han numerals (a second outside review)
        (f"案号2026{NUMBER}", f"案号2026{SHOWN}********"),
        (f"{NUMBER}１号", f"{SHOWN}********１号"),
        ("".join("〇一二三四五六七八九"[int(d)] for d in NUMBER), "三七〇四〇二一九八〇********"),
        ("三七零四零二一九八零零五一二一二三七", "三七零四零二一九八零********"),
        # a third outside review: the check character left off (the 17 digits tell it), an X typed as
        # a multiplication sign, the financial numerals of contracts
        (f"身份证号{NUMBER[:17]}）", f"身份证号{SHOWN}********）"),
        (f"申请人{NUMBER[:17]}未履行", f"申请人{SHOWN}********未履行"),
        ("37040219910303000×", "3704021991********"),
        ("".join("零壹贰叁肆伍陆柒捌玖"[int(d)] for d in NUMBER), "叁柒零肆零贰壹玖捌零********"),
        ("".join("零幺两叁肆伍陆柒捌玖"[int(d)] if d != "2" else "貳" for d in NUMBER), None),
        # a fourth: Suzhou and Roman numerals, ideographs in circles, the radio alphabet, letters
        # typed for digits
        ("".join("〇〡〢〣〤〥〦〧〨〩"[int(d)] for d in NUMBER), "〣〧〇〤〇〢〡〩〨〇********"),
        ("".join("〇ⅠⅡⅢⅣⅤⅥⅦⅧⅨ"[int(d)] for d in NUMBER), None),
        ("".join("〇㊀㊁㊂㊃㊄㊅㊆㊇㊈"[int(d)] for d in NUMBER), None),
        ("".join("洞幺两叁肆伍陆拐捌勾"[int(d)] for d in NUMBER), None),
        (NUMBER.replace("0", "O"), "37O4O2198O********"),
        (NUMBER.replace("0", "о").replace("1", "l"), None),  # Cyrillic о
        # a fifth: the circle of 二○二六年, full-width and Greek letters for 0
        (NUMBER.replace("0", "○"), "37○4○2198○********"),
        (NUMBER.replace("0", "Ｏ"), None),
        (NUMBER.replace("0", "ο"), None),
    ],
)
def test_a_number_is_masked_however_it_was_typed(written: str, masked: str | None) -> None:
    shown = mask_resident_ids(written)
    if masked is not None:
        assert shown == masked
    assert shown.endswith("********") or "********" in shown
    assert len(shown) < len(written) or shown != written
    assert holds_resident_id(written)


@pytest.mark.parametrize(
    "text",
    [
        "/v1/records/550e8400-e29b-41d4-a716-446655440000/history",
        make_uscc(1),
        "91440300708461136T",
        "370402199913321237",  # month 13: no such number
        "2024010112345678901234",  # a longer run of digits
        "案号（2026）鲁0402执123号",
        "ISO 9001 certified; BOOK-1234-5678; Hello World from Lotus OOO",
        # lists are several numbers, never one (an outside review saw dates and articles masked)
        "分别于2020-01-01、2021-01-01、2022-01-01拖欠工资",
        "违反第1、2、3、4、5、6、7、8、9、10、11、12、13、14、15、16条",
        "amounts 1,234,567, 8,901,234; 2020:01:01",
        "二○二六年十一月十八日",
    ],
)
def test_other_text_is_left_as_it_is(text: str) -> None:
    assert mask_resident_ids(text) == text
    assert not holds_resident_id(text)


def test_one_mask_for_every_place_a_number_is_shown() -> None:
    shown = {
        mask_identifier("natural_person", "resident_id", NUMBER),
        mask_identifier("individual_business", "resident_id", NUMBER),
        mask_identifier("legal_person", "other", NUMBER),  # stored before such identifiers were refused
        mask_resident_ids(NUMBER),
    }
    assert shown == {f"{SHOWN}********"}
    assert mask_identifier("legal_person", "uscc", make_uscc(1)) == make_uscc(1)
    assert mask_identifier("natural_person", "other", "E12345678") == "E1*****78"


def test_a_whole_number_is_recognized_in_either_form_and_width() -> None:
    assert is_resident_id(NUMBER) and is_resident_id(f" {NUMBER} ") and is_resident_id("370402800512123")
    assert is_resident_id("３７０４０２１９８００５１２１２３７")
    assert not is_resident_id(f"ID{NUMBER}") and not is_resident_id(make_uscc(1))


@pytest.mark.parametrize(
    ("identifier", "says"),
    [
        ("370402201501018196", "resident identity number"),  # a child's number: the minors rule applies
        ("个体370402198503043323", "resident identity number"),
        ("370402-19850304-3323", "resident identity number"),
        ("３７０４０２１９８５０３０４３３２３", "resident identity number"),
        ("91440300708461136T", "identifier_type uscc"),
        ("9144 0300 7084 6113 6T", "identifier_type uscc"),
        ("９１４４０３００７０８４６１１３６Ｔ", "identifier_type uscc"),
        ("".join(chr(0x1D7CE + int(d)) for d in "370402198503043323"), "resident identity number"),
        ("370402・19850304・3323", "resident identity number"),
        ("(370402)19850304(3323)", "resident identity number"),
        ("ID91440300708461136T", "identifier_type uscc"),
        ("91440300708461136T-01", "identifier_type uscc"),
    ],
)
def test_a_code_of_a_standard_is_not_accepted_as_other(identifier: str, says: str) -> None:
    with pytest.raises(IdentifierError, match=says):
        validate_identifier("other", identifier)


def test_other_identifiers_are_still_accepted() -> None:
    # (a 15-digit pre-2015 registration number may look like an old identity number: no check tells)
    for identifier in ("E12345678", "PERMIT-2019-001", "HK-12345", "G12345678", "370402800512123"):
        assert validate_identifier("other", identifier) == identifier
