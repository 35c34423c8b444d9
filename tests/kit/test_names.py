"""Pinyin of names as the search index keeps them: read word by word, as pypinyin reads whole texts."""

import pytest
from pypinyin import Style, lazy_pinyin

from app.kit.names import core, fold, grams, name_keys, pinyin, spelled_as_pinyin, trade


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("重庆长安汽车服务有限公司", "chongqingchanganqichefuwu", "cqcaqcfw"),  # 重 chong, 长 chang
        ("中国工商银行", "zhongguogongshangyinhang", "zggsyh"),  # 行 hang in 银行
        ("行走天下旅行社", "xingzoutianxialvxingshe", "xztxlxs"),  # 行 xing in 行走 and 旅行
        ("张三2号店", "zhangsan2haodian", "zs2hd"),  # digits pass through
    ],
)
def test_polyphones_are_read_in_their_word(name: str, full: str, initials: str) -> None:
    keys = name_keys(name)
    assert (keys.pinyin, keys.initials) == (full, initials)


def test_word_by_word_reading_equals_reading_the_whole_name() -> None:
    names = [
        "北京银行长安支行",
        "长春重型机械厂",
        "乐山音乐学院附属中学",
        "朝阳区朝阳门大街调味品店",
        "广东省便利店连锁",
        "会计师事务所",
        "单县单丽华",
    ]
    for name in names:
        stem = core(fold(name))
        whole = [s for s in lazy_pinyin(stem, style=Style.NORMAL, errors="default") if s]
        assert pinyin(stem)[0] == "".join(whole), name


@pytest.mark.parametrize(
    ("stem", "without_place"),
    [
        ("枣庄市鑫达通讯器材", "鑫达通讯器材"),
        ("枣庄鑫达通讯器材", "鑫达通讯器材"),  # a city without 市
        ("山东省枣庄市滕州市鑫达通讯器材", "鑫达通讯器材"),  # province, city, county-level city
        ("山东枣庄鑫达通讯", "鑫达通讯"),
        ("广西壮族自治区南宁市绿城物业", "绿城物业"),
        ("鑫达通讯器材", "鑫达通讯器材"),  # no place
        ("北京星辰", "星辰"),
        ("上海市", "上海市"),  # nothing would be left
        ("张三", "张三"),
    ],
)
def test_the_place_a_name_begins_with_comes_off(stem: str, without_place: str) -> None:
    assert trade(stem) == without_place


def test_traditional_characters_fold_to_simplified() -> None:
    assert fold("棗莊市鑫達通訊器材有限責任公司") == "枣庄市鑫达通讯器材有限公司"
    assert fold("臺灣積體電路製造股份有限公司") == fold("台湾积体电路制造股份有限公司")
    assert fold("乾坤電子") == "乾坤电子"  # 乾 of 乾坤 is not 干


def test_grams_hold_character_pairs_and_syllable_pairs() -> None:
    words = grams("枣庄市鑫达通讯器材").split()
    assert "鑫达" in words and "通讯" in words and "鑫通" not in words
    assert {"xin_da", "da_tong", "tong_xun"} <= set(words)
    keys = name_keys("枣庄市鑫达通讯器材有限公司")
    assert (keys.trade, keys.trade_initials, keys.initials) == ("鑫达通讯器材", "xdtxqc", "zzsxdtxqc")


def test_pinyin_spelled_right_is_told_from_a_typo() -> None:
    assert spelled_as_pinyin("zhangwei") and spelled_as_pinyin("chongqingchangan")
    assert not spelled_as_pinyin("zhangsna") and not spelled_as_pinyin("xdtx")


def test_phrase_readings_are_shared_and_read_as_pypinyin_ships_them() -> None:
    # The worker's memory: pypinyin's 47,000 phrases keep one list per distinct reading (about
    # 1,250), not one per character of every phrase, and every phrase still reads as pypinyin's own
    # data file has it, after a word is read (pypinyin copies the readings it returns).
    import json
    from pathlib import Path

    import pypinyin
    from pypinyin.constants import PHRASES_DICT

    assert lazy_pinyin("银行行长", style=Style.NORMAL) == ["yin", "hang", "hang", "zhang"]
    shipped = json.loads((Path(pypinyin.__file__).parent / "phrases_dict.json").read_text("utf-8"))
    assert shipped == PHRASES_DICT
    readings = {id(reading) for readings in PHRASES_DICT.values() for reading in readings}
    assert len(readings) < len(shipped) / 10


def test_the_segmenter_finds_the_phrases_pypinyin_s_own_prefix_set_finds() -> None:
    # The worker's memory: the segmenter asks "does a phrase begin with this?" of the sorted phrases
    # instead of pypinyin's set of every prefix; every answer and every cut must stay the same (the
    # search index keeps the pinyin made from them).
    from pypinyin.constants import PHRASES_DICT
    from pypinyin.seg import mmseg

    theirs = mmseg.PrefixSet()
    theirs.train(PHRASES_DICT)
    ours = mmseg.seg._prefix_set
    assert not ours._set  # not pypinyin's set
    asked = {phrase[:end] for phrase in PHRASES_DICT for end in range(1, len(phrase) + 2)}
    asked |= {phrase + tail for phrase in list(PHRASES_DICT)[::50] for tail in ("的", "行", "a", "\uffff")}
    asked |= {"", "\uffff", "a", "公司", "有限责任公司"}
    differing = [text for text in asked if (text in ours) != (text in theirs)]
    assert not differing
    assert sum(text in ours for text in asked) > len(PHRASES_DICT)  # prefixes found, not only phrases

    theirs_cut = mmseg.Seg(theirs, no_non_phrases=True)
    texts = ["北京银行长安支行行长", "重庆长安汽车服务有限公司", "乐山音乐学院附属中学", "一丝不苟地工作"]
    texts += ["".join(list(PHRASES_DICT)[i : i + 7]) for i in range(0, 40_000, 997)]
    assert [list(mmseg.seg.cut(text)) for text in texts] == [list(theirs_cut.cut(text)) for text in texts]


def test_names_are_cut_into_words_as_pypinyin_cuts_them() -> None:
    # The index's pinyin is read word by word from names::segment's cut, which must stay pypinyin's
    # own (simpleseg.seg): its words decide polyphones.
    from pypinyin.constants import PHRASES_DICT
    from pypinyin.seg.simpleseg import seg as pypinyins_cut

    from app.kit.names import segment

    phrases = list(PHRASES_DICT)
    texts = [
        "北京银行长安支行行长",
        "重庆长安汽车服务有限公司",
        "abc北京123银行x",
        "ａｂ〇〇中国",
        "张三 李四",
        "𠀀𠀁北京",
    ]
    texts += ["".join(phrases[i : i + 7]) for i in range(0, 40_000, 97)]
    # Unfinished phrases (a run that only begins a phrase is cut into characters), alone and
    # followed by another phrase's start.
    texts += [phrase[:-1] for phrase in phrases[::13]]
    texts += [a + b[:2] for a, b in zip(phrases[::17], phrases[5::17], strict=False)]
    differing = [text for text in texts if segment(text) != pypinyins_cut(text)]
    assert not differing
    assert sum(len(segment(text)) < len(text) for text in texts) > len(texts) / 2  # phrases found
