"""Screening by name (POST /v1/screen): an approver who knows a counterparty only by name finds the
listed subjects it may be, best first, scored, with what matched and their records; every screening
is logged and receipted like a check."""

from datetime import date

from app.checks import receipts
from tests.checks.helpers import APPROVER, approver, push
from tests.conftest import COURT, POLICE, TAX, make_resident_id, make_uscc

XINDA = "枣庄市鑫达通讯器材有限公司"


def _screen(http, headers, name: str, **extra) -> dict:
    answer = http.post("/v1/screen", json={"name": name, **extra}, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _company(n: int, name: str) -> dict:
    return {"subject": {"name": name, "identifier": make_uscc(n)}}


def test_the_same_company_written_differently_is_found_first(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-20T10:00")
    record = push(http, police, 1, **_company(1, XINDA))
    push(http, police, 2, **_company(2, "临沂市鑫达通讯器材有限公司"))  # the same trade name elsewhere
    push(http, police, 3, **_company(3, "枣庄市鑫源通讯器材有限公司"))
    for spelling, matched in [
        (XINDA, "exact_name"),
        ("枣庄市鑫達通訊器材有限公司", "spelling_variant"),  # traditional characters
        ("枣庄市鑫达通讯器材有限责任公司", "suffix_variant"),
        ("山东省枣庄市鑫达通讯器材有限公司", "missing_place"),
        ("枣庄市鑫达通迅器材有限公司", "homophone"),  # what a pinyin input method offered
        ("zaozhuangshi xindatongxunqicai youxiangongsi", "pinyin"),
    ]:
        body = _screen(http, headers, spelling)
        best = body["candidates"][0]
        assert best["subject"]["identifier"] == make_uscc(1), (spelling, body)
        assert best["match"] is True and body["threshold"] <= best["score"] <= 1, spelling
        assert matched in best["matched"], (spelling, best["matched"])
        assert best["records"][0]["id"] == record["id"] and best["records"][0]["measures"]
        # Another company of the same trade name in another place, or one character apart: shown
        # below the threshold, if at all, never as a match.
        others = [c for c in body["candidates"] if c["subject"]["identifier"] != make_uscc(1)]
        assert all(c["match"] is False and c["score"] < best["score"] for c in others), others
    # Without its place the name fits both companies of that trade name: both are matches.
    unplaced = _screen(http, headers, "鑫达通讯器材有限公司")["candidates"]
    assert {c["subject"]["identifier"] for c in unplaced if c["match"]} == {make_uscc(1), make_uscc(2)}
    assert all("missing_place" in c["matched"] for c in unplaced if c["match"])
    scores = [c["score"] for c in _screen(http, headers, XINDA)["candidates"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_every_screening_is_logged_and_receipted(http, police, token_for, clock):
    headers = approver(token_for)
    other = token_for(TAX, "checks:write")
    auditor = token_for("national.market_regulation", "audit:read")
    clock("2026-11-20T10:00")
    push(http, police, 4, **_company(4, "北京星辰科技有限公司"))
    body = _screen(http, headers, "星辰科技", reference="审批-2026-001")
    payload = receipts.verify(body["receipt"])
    assert payload["typ"] == "registry-screening-receipt" and payload["screening_id"] == body["id"]
    assert payload["agency"] == APPROVER and payload["name"] == "星辰科技"
    assert payload["candidates"][0][0] == body["candidates"][0]["subject"]["id"]
    stored = http.get(f"/v1/screenings/{body['id']}", headers=headers)
    assert stored.status_code == 200, stored.text
    assert stored.json()["receipt"] == body["receipt"]
    assert stored.json()["candidates"] == body["candidates"] and stored.json()["agency"] == APPROVER
    assert http.get(f"/v1/screenings/{body['id']}", headers=other).status_code == 403
    # Who looked: the credit office sees the screening against the entity it showed.
    logged = http.get("/v1/admin/access-log", params={"subject": make_uscc(4)}, headers=auditor).json()
    assert [(i["what"], i["action"], i["reference"], i["agency"]) for i in logged["items"]] == [
        ("screening", "screening", "审批-2026-001", APPROVER)
    ]
    (listed,) = http.get("/v1/screenings", headers=headers).json()["items"]
    assert listed["id"] == body["id"] and listed["reference"] == "审批-2026-001" and listed["matches"] >= 1
    assert http.get("/v1/screenings", headers=other).json()["items"] == []
    assert http.get("/v1/screenings", params={"agency": APPROVER}, headers=other).status_code == 403
    # Nobody alike: an empty list, logged and receipted all the same.
    empty = _screen(http, headers, "完全无关的名称")
    assert empty["candidates"] == [] and receipts.verify(empty["receipt"])["candidates"] == []


def test_a_former_name_is_found_and_said_to_be_former(http, police, token_for, clock):
    headers = approver(token_for)
    clock("2026-11-20T10:00")
    push(http, police, 5, **_company(5, "滕州市旧名商贸有限公司"))
    push(http, police, 6, external_id="ext-6b", **_company(5, "滕州市新名商贸有限公司"))
    best = _screen(http, headers, "滕州市旧名商贸有限公司")["candidates"][0]
    assert best["subject"]["name"] == "滕州市新名商贸有限公司"
    assert "former_name" in best["matched"] and best["matched_name"] == "滕州市旧名商贸有限公司"


def test_a_person_is_told_apart_by_birth_date_and_never_shown_by_number(http, token_for, clock):
    court = token_for(COURT, "records:write")
    headers = approver(token_for)
    clock("2026-11-20T10:00")
    boss = make_resident_id(date(1975, 4, 9), 61)
    person = {
        "kind": "natural_person",
        "name": "钱老板",
        "identifier_type": "resident_id",
        "identifier": boss,
    }
    related = [{"role": "legal_representative", "subject": person}]
    record = push(http, court, 7, domain="court_judgments", severity="general", related=related)
    body = _screen(http, headers, "钱老板", kind="natural_person", birth_date="1975-04-09")
    (best,) = body["candidates"]
    assert best["matched"] == ["exact_name", "birth_year"] and best["score"] == 1.0
    # Another day of the same year: the same answer (the day is never confirmed).
    same_year = _screen(http, headers, "钱老板", kind="natural_person", birth_date="1975-11-30")
    assert [(c["score"], c["matched"]) for c in same_year["candidates"]] == [
        (1.0, ["exact_name", "birth_year"])
    ]
    assert best["subject"]["identifier"] == boss[:10] + "********" and boss not in str(body)
    (shown,) = best["records"]
    assert shown["id"] == record["id"] and shown["via"]["role"] == "legal_representative"
    assert "restrict_high_consumption" in shown["measures"]
    # Another birth date: another person of the same name, below the threshold.
    other = _screen(http, headers, "钱老板", kind="natural_person", birth_date="1990-01-01")
    assert other["candidates"][0]["match"] is False
    assert "birth_year_differs" in other["candidates"][0]["matched"]
    # Asked for an organisation: a person is not a candidate.
    assert _screen(http, headers, "钱老板", kind="legal_person")["candidates"] == []


def test_another_agencys_restricted_record_shows_the_measure_not_the_document(http, token_for, clock):
    tax = token_for(TAX, "records:write")
    headers, own_headers = approver(token_for), token_for(TAX, "checks:write")
    clock("2026-11-20T10:00")
    push(http, tax, 8, domain="tax_fraud", visibility="restricted", **_company(8, "枣庄市隐秘贸易有限公司"))
    body = _screen(http, headers, "枣庄市隐秘贸易有限公司")
    (best,) = body["candidates"]
    assert best["subject"]["name"] is None and best["match"] is True
    (shown,) = best["records"]
    assert shown["id"] is None and shown["decision_no"] is None and shown["visibility"] == "restricted"
    # The agency that listed it sees its own document.
    own = _screen(http, own_headers, "枣庄市隐秘贸易有限公司")
    assert own["candidates"][0]["records"][0]["decision_no"] is not None
    assert POLICE


def test_bad_screenings_are_refused(http, token_for):
    headers = approver(token_for)
    for body in [
        {"name": ""},
        {"name": "   "},
        {"name": "鑫"},
        {"name": "鑫有限公司"},  # one character once the legal form is off
        {"name": "有限公司"},  # a legal form alone names nobody
        {"name": "有限责任公司"},
        {"name": "x"},
        {"name": "鑫达通讯", "limit": 0},
        {"name": "鑫达通讯", "limit": 51},
        {"name": "鑫达通讯", "kind": "robot"},
        {"name": "鑫达通讯", "birth_date": "1975-02-30"},
        {"name": "鑫达通讯", "extra": 1},
        {"name": "鑫达\u0000通讯"},
        {"name": make_resident_id(date(1975, 4, 9), 61)},  # a code is checked, not screened
        {"name": make_uscc(1)},
        {},
    ]:
        answer = http.post("/v1/screen", json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
    assert http.post("/v1/screen", json={"name": "鑫达通讯"}).status_code == 401
    reader = token_for(POLICE, "records:read")
    assert http.post("/v1/screen", json={"name": "鑫达通讯"}, headers=reader).status_code == 403
