"""Names as the public search compares them: normalized text, the name without its legal form, pinyin.

A person types "北京星辰科技有限责任公司", "北京星辰科技（有限公司）", "ＢＥＩＪＩＮＧ星辰" or "zhangsan" for
the same entities the agencies pushed under slightly different spellings. Everything is folded the
same way on the way in (the search index) and on the way out (the query).
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.seg.simpleseg import seg as segment

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


def fold(text: str) -> str:
    """NFKC (full width -> half width), lower case, legal-form variants unified, punctuation removed."""
    folded = unicodedata.normalize("NFKC", text).lower().strip()
    for variant, canonical in _SUFFIX_VARIANTS:
        folded = folded.replace(variant, canonical)
    return _NOISE.sub("", folded)


def core(folded: str) -> str:
    """A folded name without its legal form at the end: what distinguishes one company from another."""
    for suffix in LEGAL_FORMS:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            return folded[: -len(suffix)]
    return folded


@lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, ...]:
    return tuple(s for s in lazy_pinyin(word, style=Style.NORMAL, errors="default") if s)


@lru_cache(maxsize=65536)
def pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Han characters; other letters and digits pass through.

    pypinyin cuts a text into words and reads each word on its own (the phrase dictionary decides
    polyphones such as 银行 / 行走 within a word), so reading word by word, with each word's reading
    cached, gives the same answer as reading the whole text, several times faster: names share
    their words (places, trades, surnames).
    """
    syllables = [s for word in segment(text) for s in _word_pinyin(word)]
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables)
    return re.sub(r"[^a-z0-9]", "", full.lower()), re.sub(r"[^a-z0-9]", "", initials.lower())


@dataclass(frozen=True)
class NameKeys:
    """What the search index keeps for one name."""

    folded: str
    core: str
    pinyin: str
    initials: str


def name_keys(name: str) -> NameKeys:
    folded = fold(name)
    stem = core(folded)
    full, initials = pinyin(stem) if _HAN.search(stem) else ("", "")
    return NameKeys(folded=folded, core=stem, pinyin=full, initials=initials)


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
