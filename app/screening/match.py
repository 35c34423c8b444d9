"""How alike two names are, as evidence that they name the same entity: a score in [0, 1] and what
matched. Pure functions (no database), unit-tested on their own and measured by `scripts/bench
screening` against pairs generated from the naming rules, not from this module.

The rules the scores follow:

- An enterprise name is 行政区划 + 字号 + 行业 + 组织形式 (企业名称登记管理规定 第六条). Its legal form may
  be written in full or short (有限责任公司 / 有限公司, 股份有限公司 / 股份公司) or left out; full- and
  half-width characters, traditional and simplified characters, spaces and punctuation are the same
  name (GB/T 2312 and GB 18030 encode both widths; 通用规范汉字表 the simplified forms). These are
  spellings of one name: a high score.
- The place may be left out, or written longer or shorter (山东省枣庄市 / 枣庄市 / 枣庄): the same entity.
  Two different places with the same trade name are two entities: 企业名称登记管理规定 第十七条 only
  forbids the same name within one registration authority's area, so 临沂鑫达 and 枣庄鑫达 may both exist.
- A homophone typed through a pinyin input method (鑫达通迅 for 鑫达通讯) and the name in pinyin
  (xindatongxun) are the same name heard or typed, less certain than a spelling: above the threshold,
  below a spelling.
- Any other likeness (shared characters, the same industry) is only similarity: shown below the
  threshold, never a match.
- A person's birth date, when both sides have one, confirms a name or tells two people apart.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from app.kit.names import core, fold, similarity, simplified, syllables, trade

# At or above: the candidate is taken to be the entity screened (docs/architecture.md, "Screening by
# name"; measured by `scripts/bench screening`).
THRESHOLD = 0.8
# Below: not listed at all.
SHOWN_FROM = 0.3

_NOISE = re.compile(r"[\s\-_.,，。·•・、'\"“”‘’:：;；!！?？/\\|()（）\[\]【】<>《》{}&＆+%*]+")
_DIVISION = re.compile(
    "(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|自治州|地区|州|盟|自治县|县|区|旗)"
)
# Legal forms in pinyin, longest first, taken off a name typed in letters ("xingchenkejiyouxiangongsi").
_LATIN_FORMS = (
    "jituanyouxianzerengongsi",
    "jituanyouxiangongsi",
    "gufenyouxiangongsi",
    "youxianzerengongsi",
    "youxiangongsi",
    "gufengongsi",
    "gongsi",
    "coltd",
    "limited",
    "ltd",
)
_LETTERS = re.compile("^[a-z0-9]+$")


@dataclass(frozen=True)
class Name:
    """A name prepared once for comparison."""

    raw: str  # as written, trimmed
    plain: str  # half width, simplified, lower case, no punctuation (the legal form as written)
    folded: str  # plain with legal-form variants unified (app.kit.names.fold)
    core: str  # without its legal form
    trade: str  # core without the places it begins with
    place: str  # those places, their division words dropped (山东枣庄)
    has_form: bool
    sounds: tuple[str, ...]  # the core's syllables
    trade_sounds: tuple[str, ...]
    latin: bool  # written in letters only (pinyin)

    @property
    def pinyin(self) -> str:
        return "".join(self.sounds)


def prepare(name: str) -> Name:
    raw = name.strip()
    plain = _NOISE.sub("", simplified(unicodedata.normalize("NFKC", raw).lower()))
    folded = fold(raw)
    stem = core(folded) or folded
    # 集团 before the legal form names a group of companies (企业集团登记管理暂行规定 第十四条), written
    # or left out like the form itself.
    if stem.endswith("集团") and len(stem) > 4:
        stem = stem[:-2]
    latin = bool(_LETTERS.match(stem))
    if latin:
        for form in _LATIN_FORMS:
            if stem.endswith(form) and len(stem) > len(form):
                stem = stem[: -len(form)]
                break
    without_place = stem if latin else trade(stem)
    place = _DIVISION.sub("", stem[: len(stem) - len(without_place)])
    sounds = () if latin else syllables(stem)
    trade_sounds = sounds if without_place == stem else syllables(without_place)
    return Name(raw, plain, folded, stem, without_place, place, stem != folded, sounds, trade_sounds, latin)


def _same_place(a: str, b: str) -> bool:
    """Places that can be one: either left out, or one written within the other (枣庄 / 山东枣庄)."""
    return not a or not b or a in b or b in a


def _right(a: str, b: str) -> float:
    """The share of characters in place that agree (a homophone typo gets most of them right)."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def name_score(query: Name, candidate: Name) -> tuple[float, list[str]]:
    """How alike two names are (1 the same name as written) and what matched."""
    if query.raw == candidate.raw:
        return 1.0, ["exact_name"]
    if query.plain == candidate.plain:
        return 0.98, ["spelling_variant"]  # width, traditional characters, spaces, punctuation
    if query.latin and candidate.sounds:
        if query.core == candidate.pinyin:
            return 0.9, ["pinyin"]
        if query.core == "".join(candidate.trade_sounds):
            return 0.88, ["pinyin", "missing_place"]
        return round(0.6 * similarity(query.core, candidate.pinyin), 4), ["similar_name"]
    if query.folded == candidate.folded:
        return 0.96, ["suffix_variant"]
    if query.core == candidate.core:
        # The same name with its legal form left out (0.94), or written as another form (0.9: a
        # company that changed form, or two of one name: rare within one area).
        if query.has_form and candidate.has_form:
            return 0.9, ["suffix_variant"]
        return 0.94, ["suffix_variant"]
    places_agree = _same_place(query.place, candidate.place)
    if query.trade == candidate.trade and len(query.trade) >= 2:
        if places_agree:
            return 0.92, ["missing_place"]
        return 0.45, ["trade_name"]  # the same trade name in another place: another entity
    if query.sounds and query.sounds == candidate.sounds and len(query.sounds) >= 2:
        return round(0.82 + 0.12 * _right(query.core, candidate.core), 4), ["homophone"]
    if (
        places_agree
        and len(query.trade_sounds) >= 2
        and query.trade_sounds == candidate.trade_sounds
        and (query.place != candidate.place)
    ):
        return round(0.8 + 0.1 * _right(query.trade, candidate.trade), 4), ["homophone", "missing_place"]
    return round(0.6 * similarity(query.core, candidate.core), 4), ["similar_name"]


def birth_date_score(
    score: float, matched: list[str], asked: date | None, known: date | None
) -> tuple[float, list[str]]:
    """A person's birth date on both sides, compared by the year only: the same year confirms the
    name; another is another person. The year is what the masked identity number shows anyway; a
    score that moved on the exact day would let an approver find a person's birth date by asking
    again and again, then the whole number with one batch of checks over the 1,000 sequences left
    (DOMAIN.md, second release: no full identity number recoverable)."""
    if asked is None or known is None:
        return score, matched
    if asked.year == known.year:
        return min(1.0, round(score + 0.05, 4)), [*matched, "birth_year"]
    return round(score * 0.5, 4), [*matched, "birth_year_differs"]
