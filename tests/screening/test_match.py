"""The name score on its own (no database): spellings of one name score high, another entity low."""

from datetime import date

import pytest

from app.screening.match import THRESHOLD, birth_date_score, name_score, prepare

NAME = "枣庄市鑫达通讯器材有限公司"


@pytest.mark.parametrize(
    ("asked", "matched"),
    [
        (NAME, "exact_name"),
        ("枣庄市鑫達通訊器材有限公司", "spelling_variant"),
        ("枣庄市　鑫达通讯器材（有限公司）", "spelling_variant"),
        ("枣庄市鑫达通讯器材有限责任公司", "suffix_variant"),
        ("枣庄市鑫达通讯器材", "suffix_variant"),
        ("鑫达通讯器材有限公司", "missing_place"),
        ("山东省枣庄市鑫达通讯器材有限公司", "missing_place"),
        ("枣庄市鑫达通迅器材有限公司", "homophone"),
        ("zaozhuangshi xindatongxunqicai", "pinyin"),
        ("xindatongxunqicai youxiangongsi", "pinyin"),
    ],
)
def test_the_same_name_written_otherwise_is_a_match(asked, matched):
    score, found = name_score(prepare(asked), prepare(NAME))
    assert THRESHOLD <= score <= 1 and matched in found


@pytest.mark.parametrize(
    "asked",
    [
        "临沂市鑫达通讯器材有限公司",  # the same trade name in another city: another company
        "枣庄市鑫源通讯器材有限公司",  # one character apart, not a homophone
        "枣庄市鑫达建材有限公司",  # another industry
        "枣庄市华盛通讯器材有限公司",  # another trade name
    ],
)
def test_another_entity_with_a_similar_name_is_not(asked):
    score, _ = name_score(prepare(asked), prepare(NAME))
    assert 0 <= score < THRESHOLD


def test_a_birth_date_confirms_or_tells_two_people_apart():
    score, matched = name_score(prepare("张伟"), prepare("张伟"))
    assert birth_date_score(score, matched, date(1980, 1, 1), date(1980, 1, 1)) == (
        1.0,
        ["exact_name", "birth_year"],
    )
    # Any day of that year answers alike: asking again and again must not find the exact date.
    assert birth_date_score(score, matched, date(1980, 12, 31), date(1980, 1, 1)) == (
        1.0,
        ["exact_name", "birth_year"],
    )
    lower, found = birth_date_score(score, matched, date(1980, 1, 1), date(1981, 1, 1))
    assert lower < THRESHOLD and "birth_year_differs" in found
    assert birth_date_score(score, matched, None, date(1980, 1, 1)) == (score, matched)
