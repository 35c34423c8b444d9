"""Names as the public search compares them: normalized text, the name without its legal form, pinyin.

A person types "北京星辰科技有限责任公司", "北京星辰科技（有限公司）", "ＢＥＩＪＩＮＧ星辰",
"北京星辰科技有限責任公司" or "zhangsan" for the same entities the agencies pushed under slightly
different spellings; or only the trade name ("星辰", without the place and the industry), or a
homophone a pinyin input method offered ("星晨"), or the initials ("xckj"). Everything is folded the
same way on the way in (the search index) and on the way out (the query).

An enterprise name is 行政区划 + 字号 + 行业 + 组织形式 (企业名称登记管理规定 第六条; the place may also
be left out, or put in brackets after the trade name): `trade()` takes the leading administrative
divisions off, so that "枣庄鑫达通讯" and "鑫达通讯" both meet "枣庄市鑫达通讯器材有限公司".
"""

import json
import os
import re
import sys
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

# pypinyin's phrase dictionary is read below, its readings shared (the reason is there); the
# dictionaries it would load and copy itself on import are not wanted. This module is the only one
# importing pypinyin, so these come first.
os.environ["PYPINYIN_NO_PHRASES"] = "1"
os.environ["PYPINYIN_NO_DICT_COPY"] = "1"

import opencc
import pypinyin
from opencc import OpenCC
from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.seg import mmseg


def _load_phrases() -> None:
    """pypinyin's 47,000 phrases (their readings decide polyphones: 银行 hang, 行走 xing), read into
    the dictionary pypinyin consults, sharing their readings.

    Decoded whole, as pypinyin does on import, its JSON file makes a list and a string of their own
    for every character of every phrase: some 600,000 objects, 35 MiB at once, most of a worker's
    memory after the framework's. They spell only ~1,250 distinct readings, and pypinyin copies the
    readings of a phrase before using them (`deepcopy` in its converter), so the phrases share
    them, read one entry at a time (each entry's lists freed before the next is read). The
    segmenter's prefixes are trained on the phrases (what pypinyin does on import). A worker with
    the whole application imported: 165 MiB -> 140 MiB (docs/benchmarks.md)."""
    loaded_before = sys.modules.get("pypinyin.phrases_dict")  # imported before this module: emptied
    if loaded_before is not None and loaded_before.phrases_dict is not PHRASES_DICT:
        loaded_before.phrases_dict.clear()
    PHRASES_DICT.clear()
    text = (Path(pypinyin.__file__).parent / "phrases_dict.json").read_text(encoding="utf-8")
    decoder, between = json.JSONDecoder(), re.compile(r"[\s{:,]*")

    def past_punctuation(at: int) -> int:
        found = between.match(text, at)
        return found.end() if found else at

    shared: dict[tuple[str, ...], list[str]] = {}
    at = past_punctuation(0)
    while text[at] != "}":
        phrase, at = decoder.raw_decode(text, at)
        readings, at = decoder.raw_decode(text, past_punctuation(at))
        PHRASES_DICT[phrase] = [shared.setdefault(tuple(reading), reading) for reading in readings]
        at = past_punctuation(at)
    mmseg.seg = mmseg.Seg(PhrasePrefixes(PHRASES_DICT), no_non_phrases=True)  # as pypinyin makes it


class PhrasePrefixes(mmseg.PrefixSet):
    """What pypinyin's segmenter asks while it cuts a text into phrases, longest first: does any
    phrase begin with these characters? pypinyin answers it from a set of every prefix of every
    phrase (~87,000 strings and their table, 7 MiB in each worker); the phrases sorted answer the
    same from a list of the dictionary's own keys: the first phrase not below `text` begins with it
    if any does (a phrase between them would differ from `text` within its length, so sort above
    every phrase beginning with it)."""

    def __init__(self, phrases: Iterable[str]) -> None:
        super().__init__()  # its set stays empty
        self._sorted: list[str] = []
        self.longest: dict[str, int] = {}  # first character -> the longest phrase beginning with it
        self.train(phrases)

    def train(self, phrases: Iterable[str]) -> None:  # pypinyin's own interface, for added phrases
        self._sorted = sorted({*self._sorted, *phrases})
        for phrase in self._sorted:
            if len(phrase) > self.longest.get(phrase[0], 0):
                self.longest[phrase[0]] = len(phrase)

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str) or not text:
            return False  # as pypinyin's set: the empty prefix is not in it
        at = bisect_left(self._sorted, text)
        return at < len(self._sorted) and self._sorted[at].startswith(text)


_load_phrases()

# Legal-form suffixes (公司法 and the enterprise name rules), longest first so that the longest one is
# taken off. Variants of the same form fold to one spelling before they are stripped.
_SUFFIX_VARIANTS = (
    ("有限责任公司", "有限公司"),
    ("股份有限公司", "股份公司"),
    ("(有限合伙)", "有限合伙"),
    ("(普通合伙)", "普通合伙"),
)
LEGAL_FORMS = (
    "股份公司",
    "有限公司",
    "有限合伙",
    "普通合伙",
    "合伙企业",
    "个体工商户",
    "集团公司",
    "分公司",
    "公司",
    "coltd",
    "limited",
    "ltd",
)
# Separators and punctuation that differ between spellings of one name (NFKC makes them half-width).
_NOISE = re.compile(r"[\s\-_.,，。·•・、'\"“”‘’:：;；!！?？/\\|()（）\[\]【】<>《》{}&＆+%*]+")
_ASCII_LETTERS = re.compile(r"^[a-z]+$")
_HAN = re.compile(r"[\u3400-\u9fff]")
_HAN_ONLY = re.compile(r"[\u3400-\u9fff]+")
_HAN_PAIR = re.compile(r"(?=([\u3400-\u9fff]{2}))")
_SYLLABLE = re.compile(r"^[a-z]+$")

# Traditional characters (and their variants) to simplified, as OpenCC's t2s tables write them.
_T2S = OpenCC("t2s")


def _changing_characters() -> frozenset[str] | None:
    """Every character t2s may change, read from the package's own tables: a name holding none of
    them is already simplified, and is not converted (the conversion costs some 40 µs a name, a
    minute on reindexing a million). None when the tables cannot be read: then every name is."""
    tables = Path(opencc.__file__).parent / "dictionary"
    found: set[str] = set()
    try:
        for table in ("TSCharacters.txt", "TSPhrases.txt"):
            for line in (tables / table).open(encoding="utf-8"):
                key, _, value = line.rstrip("\n").partition("\t")
                first = value.split(" ")[0]  # the first choice is what convert() writes
                if len(first) == len(key):
                    found.update(old for old, new in zip(key, first, strict=True) if old != new)
                else:
                    found.update(key)
    except OSError:
        return None
    return frozenset(found)


_CHANGING = _changing_characters()


@lru_cache(maxsize=4096)  # whole names: repeated by searches, rarely by pushes (unbounded memory)
def simplified(text: str) -> str:
    """Traditional characters folded to simplified (臺灣積體電路 -> 台湾积体电路); other text unchanged."""
    if _CHANGING is not None and _CHANGING.isdisjoint(text):
        return text
    return _T2S.convert(text) if _HAN.search(text) else text


def fold(text: str) -> str:
    """NFKC (full width -> half width), lower case, traditional characters to simplified, legal-form
    variants unified, punctuation removed."""
    folded = simplified(unicodedata.normalize("NFKC", text).lower().strip())
    for variant, canonical in _SUFFIX_VARIANTS:
        folded = folded.replace(variant, canonical)
    return _NOISE.sub("", folded)


def core(folded: str) -> str:
    """A folded name without its legal form at the end: what distinguishes one company from another."""
    for suffix in LEGAL_FORMS:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            return folded[: -len(suffix)]
    return folded


# pypinyin's own class of the characters it reads (its pattern is that class repeated, anchored).
_PYPINYIN_HAN = RE_HANS.pattern.removeprefix("^(?:").removesuffix(")+$")
_HAN_RUNS = re.compile(f"({_PYPINYIN_HAN}+)")


def segment(text: str) -> list[str]:
    """The words pypinyin reads a text in, as its `seg.simpleseg.seg` cuts it: runs of other
    characters whole, runs of Han characters into phrases by forward maximum matching, every other
    character alone. The same cut (tests/kit/test_names.py), a few times faster: a run is split by
    one regular expression instead of a character at a time, and at each character only the
    phrases as long as the longest beginning with it are looked up, instead of growing a prefix a
    character at a time against the prefix set."""
    prefixes = mmseg.seg._prefix_set  # ours (_load_phrases)
    words: list[str] = []
    for number, run in enumerate(_HAN_RUNS.split(text)):
        if number % 2 == 0:  # between Han runs (split's captured pieces are the odd ones)
            if run:
                words.append(run)
        elif isinstance(prefixes, PhrasePrefixes):
            words.extend(_phrases(run, prefixes))
        else:
            words.extend(mmseg.seg.cut(run))
    return words


def _phrases(run: str, prefixes: PhrasePrefixes) -> Iterator[str]:
    """pypinyin's `mmseg.Seg(..., no_non_phrases=True).cut`: at each character the longest phrase
    beginning there, else the character alone; but when no phrase begins there and the whole rest
    of the run begins some phrase, every character of the rest alone (as its loop ends)."""
    at, end, longest = 0, len(run), prefixes.longest
    while at < end:
        for length in range(min(longest.get(run[at], 0), end - at), 0, -1):
            word = run[at : at + length]
            if word in PHRASES_DICT:
                yield word
                at += length
                break
        else:
            if run[at:] in prefixes:
                yield from run[at:]
                return
            yield run[at]
            at += 1


@lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, ...]:
    """A word's toneless syllables, lower case, letters and digits only (empty ones dropped)."""
    read = lazy_pinyin(word, style=Style.NORMAL, errors="default")
    return tuple(cleaned for s in read if (cleaned := re.sub(r"[^a-z0-9]", "", s.lower())))


@lru_cache(maxsize=4096)  # whole names, as simplified()'s; their words' readings are kept longer
def syllables(text: str) -> tuple[str, ...]:
    """The toneless pinyin of the text, one syllable per Han character; a run of other letters or
    digits is one item of its own (lower case, punctuation dropped).

    pypinyin cuts a text into words and reads each word on its own (the phrase dictionary decides
    polyphones such as 银行 / 行走 within a word), so reading word by word, with each word's reading
    cached, gives the same answer as reading the whole text, several times faster: names share
    their words (places, trades, surnames).
    """
    return tuple(s for word in segment(text) for s in _word_pinyin(word))


def pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Han characters; other letters and digits pass through."""
    read = syllables(text)
    return "".join(read), "".join(s[0] for s in read)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# 行政区划 written before a trade name: provinces (full and short), prefecture-level cities by their
# short names, and any two or three characters ending in a division's own word (滕州市, 天河区, 沛县).
_PROVINCES = _words(
    "北京市 天津市 上海市 重庆市 河北省 山西省 辽宁省 吉林省 黑龙江省 江苏省 浙江省 安徽省 福建省 江西省 "
    "山东省 河南省 湖北省 湖南省 广东省 海南省 四川省 贵州省 云南省 陕西省 甘肃省 青海省 台湾省 "
    "内蒙古自治区 广西壮族自治区 西藏自治区 宁夏回族自治区 新疆维吾尔自治区 香港特别行政区 澳门特别行政区"
)
_PROVINCE_SHORT = [
    re.sub("(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", p) for p in _PROVINCES
]
_CITIES = _words(
    "石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水 太原 大同 阳泉 长治 晋城 朔州 晋中 运城 "
    "忻州 临汾 吕梁 呼和浩特 包头 乌海 赤峰 通辽 鄂尔多斯 呼伦贝尔 巴彦淖尔 乌兰察布 沈阳 大连 鞍山 抚顺 "
    "本溪 丹东 锦州 营口 阜新 辽阳 盘锦 铁岭 朝阳 葫芦岛 长春 四平 辽源 通化 白山 松原 白城 延边 哈尔滨 "
    "齐齐哈尔 鸡西 鹤岗 双鸭山 大庆 伊春 佳木斯 七台河 牡丹江 黑河 绥化 南京 无锡 徐州 常州 苏州 南通 "
    "连云港 淮安 盐城 扬州 镇江 泰州 宿迁 杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 合肥 芜湖 "
    "蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 六安 亳州 池州 宣城 福州 厦门 莆田 三明 泉州 漳州 "
    "南平 龙岩 宁德 南昌 景德镇 萍乡 九江 新余 鹰潭 赣州 吉安 宜春 抚州 上饶 济南 青岛 淄博 枣庄 东营 烟台 "
    "潍坊 济宁 泰安 威海 日照 临沂 德州 聊城 滨州 菏泽 郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 濮阳 许昌 "
    "漯河 三门峡 南阳 商丘 信阳 周口 驻马店 济源 武汉 黄石 十堰 宜昌 襄阳 鄂州 荆门 孝感 荆州 黄冈 咸宁 随州 "
    "恩施 仙桃 潜江 天门 长沙 株洲 湘潭 衡阳 邵阳 岳阳 常德 张家界 益阳 郴州 永州 怀化 娄底 湘西 广州 韶关 "
    "深圳 珠海 汕头 佛山 江门 湛江 茂名 肇庆 惠州 梅州 汕尾 河源 阳江 清远 东莞 中山 潮州 揭阳 云浮 南宁 "
    "柳州 桂林 梧州 北海 防城港 钦州 贵港 玉林 百色 贺州 河池 来宾 崇左 海口 三亚 三沙 儋州 成都 自贡 "
    "攀枝花 泸州 德阳 绵阳 广元 遂宁 内江 乐山 南充 眉山 宜宾 广安 达州 雅安 巴中 资阳 阿坝 甘孜 凉山 贵阳 "
    "六盘水 遵义 安顺 毕节 铜仁 黔西南 黔东南 黔南 昆明 曲靖 玉溪 保山 昭通 丽江 普洱 临沧 楚雄 红河 文山 "
    "西双版纳 大理 德宏 怒江 迪庆 拉萨 日喀则 昌都 林芝 山南 那曲 阿里 西安 铜川 宝鸡 咸阳 渭南 延安 汉中 "
    "榆林 安康 商洛 兰州 嘉峪关 金昌 白银 天水 武威 张掖 平凉 酒泉 庆阳 定西 陇南 临夏 甘南 西宁 海东 海北 "
    "黄南 果洛 玉树 海西 银川 石嘴山 吴忠 固原 中卫 乌鲁木齐 克拉玛依 吐鲁番 哈密 昌吉 博尔塔拉 巴音郭楞 "
    "阿克苏 克孜勒苏 喀什 和田 伊犁 塔城 阿勒泰 石河子"
)
_DIVISION_WORD = "(?:市|地区|自治州|州|盟|县|自治县|区|旗)"
_PLACE = re.compile(
    "^(?:"
    + "|".join(sorted({*_PROVINCES, *_PROVINCE_SHORT}, key=len, reverse=True))
    + "|(?:"
    + "|".join(sorted(_CITIES, key=len, reverse=True))
    + f"){_DIVISION_WORD}?"
    + f"|[\u3400-\u9fff]{{2,3}}{_DIVISION_WORD}"
    + ")"
)


def trade(stem: str) -> str:
    """A name without the administrative divisions it begins with (山东省枣庄市鑫达通讯器材 -> 鑫达通讯器材);
    the name itself when that would leave fewer than two characters."""
    rest = stem
    for _ in range(3):  # province, city, county
        found = _PLACE.match(rest)
        if found is None or len(rest) - found.end() < 2:
            break
        rest = rest[found.end() :]
    return rest


def han_pairs(text: str) -> list[str]:
    """Every two neighbouring Han characters, in order (鑫达通 -> 鑫达, 达通)."""
    return _HAN_PAIR.findall(text)


def syllable_pairs(text: str) -> list[str]:
    """Every two neighbouring syllables as one token (xin_da, da_tong), in order: what a homophone
    typed through a pinyin input method shares with the name it meant."""
    read = [s for s in syllables(text) if _SYLLABLE.match(s)]
    return [f"{a}_{b}" for a, b in pairwise(read)]


def grams(stem: str) -> str:
    """The index's word list for a name: its Han character pairs (a two-character trade name
    anywhere in it) and syllable pairs (homophones), space-separated, each once."""
    return " ".join(dict.fromkeys([*han_pairs(stem), *syllable_pairs(stem)]))


@dataclass(frozen=True)
class NameKeys:
    """What the search index keeps for one name."""

    folded: str
    core: str
    pinyin: str
    initials: str
    trade: str
    trade_initials: str
    grams: str


def name_keys(name: str) -> NameKeys:
    folded = fold(name)
    stem = core(folded)
    if not _HAN.search(stem):
        return NameKeys(folded, stem, "", "", stem, "", "")
    read = syllables(stem)
    full, initials = "".join(read), "".join(s[0] for s in read)
    without_place = trade(stem)
    place = stem[: len(stem) - len(without_place)]
    if without_place == stem:
        trade_initials = initials
    elif stem.endswith(without_place) and _HAN_ONLY.fullmatch(place):
        # The places read one syllable a character: the trade name's reading is the rest of the
        # name's (reading the name once is half the cost of indexing a pushed record).
        trade_initials = initials[len(place) :]
    else:
        trade_initials = pinyin(without_place)[1]
    return NameKeys(folded, stem, full, initials, without_place, trade_initials, grams(stem))


@lru_cache(maxsize=1)
def _syllable_set() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin reads a character as (some 420)."""
    return frozenset(
        syllable
        for readings in PINYIN_DICT.values()
        for reading in readings.split(",")
        if (syllable := to_normal(reading)).isascii()
    )


@lru_cache(maxsize=4096)
def spelled_as_pinyin(text: str) -> bool:
    """Whether letters split wholly into pinyin syllables ("zhangwei": zhang wei; not "zhangsna")."""
    known = _syllable_set()
    reachable = [True] + [False] * len(text)
    for end in range(1, len(text) + 1):
        reachable[end] = any(
            reachable[start] and text[start:end] in known for start in range(max(0, end - 6), end)
        )
    return reachable[-1]


def is_latin_query(folded: str) -> bool:
    """Letters only: possibly pinyin ("zhangsan") or pinyin initials ("zs")."""
    return bool(_ASCII_LETTERS.match(folded))


def trigrams(text: str) -> set[str]:
    """Trigrams of a string padded as pg_trgm pads a word (two spaces before, one after)."""
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of either string."""
    left, right = trigrams(a), trigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)
