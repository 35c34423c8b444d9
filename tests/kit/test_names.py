"""Pinyin of names as the search index keeps them: read word by word, as pypinyin reads whole texts."""

import pytest
from pypinyin import Style, lazy_pinyin

from app.kit.names import core, fold, name_keys, pinyin


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
