"""The one-stop search (一站式查询): an organisation's exact identifier, or a name as people type it:
anywhere in the name (a two-character trade name too), without the place it begins with, with a
homophone a pinyin input method offered, in traditional characters, in pinyin or its initials.

The index (app.records.search_index) gathers a bounded set of candidates, each limited to subjects
with a record in public force; this module parses the query, ranks the candidates the same way on
both databases and shapes the answer. A name matches only when a record in public force carries it
(an agency's shared or restricted push under another name is not searchable, nor shown), at most
MAX_LIMIT subjects are listed (`total` counts the matches among the best-ranked twice the limit,
never more than CANDIDATES), and a query needs two characters: nobody can page through the
registry. A resident identity number finds nothing: persons are found by name, and their numbers
are never confirmed (API.md, Second release).

An empty answer is not a clean bill: it carries NO_RESULT_NOTE, which says what the registry shows
and what it does not.
"""

import uuid
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from app.errors import ValidationFailed
from app.kit.identifiers import looks_personal, typed_code
from app.kit.masking import mask_resident_ids
from app.kit.names import core, fold, similarity, syllables
from app.kit.text import printable
from app.public.view import public_faces, scrub
from app.records import repository
from app.records.search_index import (
    CANDIDATES,
    MIN_SIMILARITY,
    Candidate,
    Wanted,
    candidates,
    index_key,
    is_exact,
    wanted,
)

MAX_LIMIT = 20
MIN_QUERY = 2
EXAMINED_AT_LEAST = 10
# What an empty answer means, and what it does not (the page says the same at more length).
NO_RESULT_NOTE = (
    "未查询到公示中的失信或守信记录。这不代表该主体不存在失信行为：本平台只公示处于公示期内、"
    "依法应当向社会公开的记录；仅共享或受限使用的记录，已修复、期满或已退出公示的记录，"
    "以及其他平台公示的信息，均不在此显示。组织可凭统一社会信用代码取得专项信用报告："
    "/v1/public/subjects/{统一社会信用代码}/special-report.pdf。"
)


def _follows(needle: tuple[str, ...], hay: tuple[str, ...]) -> int:
    """Where the syllables `needle` follow each other in `hay`, or -1."""
    width = len(needle)
    for start in range(len(hay) - width + 1):
        if hay[start : start + width] == needle:
            return start
    return -1


def score(candidate: Candidate, query: Wanted) -> float:
    """Best first: the exact name, the name without its place, a prefix, a substring, pinyin and
    initials, homophones, then trigram similarity (typos). Longer names lose a little in each tier."""
    stem, latin, name = query.stem, query.latin, candidate.core
    extra = min(len(name) - len(stem), 20) * 0.1 if len(name) > len(stem) else 0.0
    best = 0.0
    if name == stem:
        best = 100.0
    elif name.startswith(stem):
        best = 90.0 - extra
    elif stem in name:
        best = 80.0 - extra
    if query.trade != stem or candidate.trade != name:
        # A place written differently, or left out: 枣庄鑫达通讯 / 鑫达通讯 for 枣庄市鑫达通讯器材.
        place = stem[: len(stem) - len(query.trade)]
        theirs = name[: len(name) - len(candidate.trade)]
        same_place = any(place[i : i + 2] in theirs for i in range(len(place) - 1))
        if candidate.trade == query.trade:
            best = max(best, 96.0 if same_place else 92.0)
        elif candidate.trade.startswith(query.trade) and len(query.trade) >= 2:
            best = max(best, (88.0 if same_place else 84.0) - extra)
    sim = similarity(name, stem)
    if sim >= MIN_SIMILARITY:
        best = max(best, 40.0 + 30.0 * sim)
    if query.is_han and best < 80.0:
        best = max(best, _homophone_score(candidate, query))
    if latin and candidate.pinyin:
        if candidate.pinyin == latin:
            best = max(best, 97.0)
        elif candidate.initials == latin:
            best = max(best, 95.0)
        elif candidate.trade_initials == latin:
            best = max(best, 93.0)
        elif candidate.pinyin.startswith(latin):
            best = max(best, 85.0)
        elif candidate.trade_initials.startswith(latin):
            best = max(best, 82.0 - extra * 0.5)
        elif candidate.initials.startswith(latin):
            best = max(best, 75.0)
        elif latin in candidate.pinyin:
            best = max(best, 70.0)
        else:
            pinyin_sim = similarity(candidate.pinyin, latin)
            if pinyin_sim >= MIN_SIMILARITY:
                best = max(best, 35.0 + 30.0 * pinyin_sim)
    return best


def _homophone_score(candidate: Candidate, query: Wanted) -> float:
    """The query's syllables, in order, inside the name's: a homophone typo (鑫达通迅 for 鑫达通讯),
    ranked by how much of the name it covers and how many of its characters are right."""
    said, heard = syllables(query.stem), syllables(candidate.core)
    if len(said) < 2:
        return 0.0
    at = _follows(said, heard)
    if at < 0:
        return 0.0
    if said == heard:
        base = 78.0
    elif said == syllables(candidate.trade):
        base = 76.0  # the whole name without its place
    else:
        base = 66.0 - min(len(heard) - len(said), 20) * 0.1
    right = 0.0
    if len(heard) == len(candidate.core):  # one syllable per character: compare them in place
        typed = candidate.core[at : at + len(said)]
        right = sum(1 for a, b in zip(typed, query.stem, strict=False) if a == b) / len(said)
    return base + 10.0 * right


def _identifier_hit(connection: Connection, identifier: str) -> uuid.UUID | None:
    """An organisation by its full identifier; never a person (a hit would confirm a guessed number)."""
    if len(identifier) < 8 or not (identifier.isascii() and identifier.isalnum()):
        return None  # a name, not a code: spare the round trip
    return repository.organisation_by_identifier(connection, identifier)


def _scored(found: list[Candidate], query: Wanted) -> list[tuple[float, uuid.UUID, str | None]]:
    """(score, subject, the index key of the name that matched), best first."""
    scored: list[tuple[float, uuid.UUID, str | None]] = [
        (value, c.subject_id, c.folded) for c in found if (value := score(c, query)) > 0
    ]
    scored.sort(key=lambda entry: -entry[0])
    return scored


def _only_hidden_names_exact(found: list[Candidate], query: Wanted, faces: dict[uuid.UUID, Any]) -> bool:
    """Whether names matched the query exactly and none of them is one the public sees (carried by a
    record in public force)."""
    exact = [candidate for candidate in found if is_exact(candidate, query)]
    return bool(exact) and not any(
        candidate.subject_id in faces
        and any(index_key(name) == candidate.folded for name in faces[candidate.subject_id].names)
        for candidate in exact
    )


def search(connection: Connection, q: str, limit: int, today: date) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    q = q.strip()
    try:
        printable(q)
    except ValueError as exc:
        raise ValidationFailed.one("q", str(exc)) from None
    identifier = typed_code(q)
    if looks_personal(identifier):
        # The same empty answer whether that person is listed or not (API.md, Second release).
        return {"items": [], "total": 0, "limit": limit, "note": NO_RESULT_NOTE}
    # (score, subject, the index key of the name that matched; None for an identifier)
    scored: list[tuple[float, uuid.UUID, str | None]] = []
    found: list[Candidate] = []
    query: Wanted | None = None
    by_identifier = _identifier_hit(connection, identifier)
    if by_identifier is not None:
        scored.append((1000.0, by_identifier, None))
    else:
        # A number inside a name is matched as the index holds it: masked (app.records.search_index).
        folded = fold(mask_resident_ids(q))
        stem = core(folded) or folded
        if len(stem) < MIN_QUERY:
            raise ValidationFailed.one(
                "q", f"give at least {MIN_QUERY} characters of a name, or an organisation's full identifier"
            )
        query = wanted(stem)
        found = candidates(connection, query, today, enough=MAX_LIMIT)
        scored = _scored(found, query)
    # The best-ranked subjects only are opened (each costs a probe of its records): twice the page,
    # so that names no public record carries can drop out and the page still fills, and `total`
    # counts the matches among them.
    examined = min(CANDIDATES, max(2 * limit, EXAMINED_AT_LEAST))
    subject_ids = list(dict.fromkeys(subject_id for _, subject_id, _ in scored))[:examined]
    faces = public_faces(connection, subject_ids, today)
    if query is not None and _only_hidden_names_exact(found, query, faces):
        # The search stopped at names the public may not see: stopping there would tell that such a
        # name exists (its homophones missing from the answer), so it goes on as if none had.
        found = candidates(connection, query, today, enough=MAX_LIMIT, stop_on_exact=False)
        scored = _scored(found, query)
        subject_ids = list(dict.fromkeys(subject_id for _, subject_id, _ in scored))[:examined]
        faces = public_faces(connection, subject_ids, today)
    # Each subject's best match among the names its records in public force carry: a name that only a
    # shared, restricted or exited record carries matches nothing.
    chosen: dict[uuid.UUID, tuple[float, str | None]] = {}
    for value, subject_id, key in scored:
        face = faces.get(subject_id)
        if face is None or subject_id in chosen:
            continue
        if key is None:
            chosen[subject_id] = (value, None)
            continue
        spelling = next((name for name in face.names if index_key(name) == key), None)
        if spelling is not None:
            chosen[subject_id] = (value, spelling)
    items: list[dict[str, Any]] = []
    for subject_id, (value, matched) in list(chosen.items())[:limit]:
        face = faces[subject_id]
        name = face.names[0]
        items.append(
            {
                "name": scrub(name),
                "kind": face.kind,
                "identifier": face.identifier,
                "black_count": face.black_count,
                "red_count": face.red_count,
                "ref": subject_id,
                "matched_name": (
                    scrub(matched) if matched and index_key(matched) != index_key(name) else None
                ),
                "score": round(value, 2),
            }
        )
    # Ties: the shorter (more specific) name first, then by name, so that answers are stable.
    items.sort(key=lambda item: (-item["score"], len(item["name"]), item["name"]))
    answer: dict[str, Any] = {"items": items, "total": min(len(chosen), CANDIDATES), "limit": limit}
    if not items:
        answer["note"] = NO_RESULT_NOTE
    return answer
