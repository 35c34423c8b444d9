"""No public answer may serve as an oracle (API.md, Second release: "Answers that can be trusted").

An outside review recovered a listed person's full identity number in about 34 requests: the masked
form left four unknown digits and the check digit, and the identifier lookup answered 200 only for
the right guess. Here every public way in (API, web pages, reports, search, the access log) is asked
with a listed, an unlisted and a never-seen number, and must answer alike.
"""

import logging
import re
import uuid
from datetime import date

import pytest

from app.config import get_settings
from tests.conftest import COURT, TAX, make_resident_id, make_uscc, record_body

TODAY = "2026-11-20T10:00"
LISTED = make_resident_id(date(1988, 3, 14), 31)  # a public black record
SHARED = make_resident_id(date(1988, 3, 15), 32)  # a shared record only
NEVER = make_resident_id(date(1988, 3, 16), 33)  # never pushed
# Headers that differ between any two answers whatever they say.
PER_REQUEST = {"date", "x-request-id", "set-cookie"}  # the form cookie is set once per browser


def person(n: int, name: str, identifier: str, **overrides) -> dict:
    """A court's public listing of a person: court listings are published by law (DOMAIN.md)."""
    subject = {
        "kind": "natural_person",
        "name": name,
        "identifier_type": "resident_id",
        "identifier": identifier,
    }
    fields = {"domain": "court_judgments", "visibility": "public", "decision_no": f"(2026)京01执{n}号"}
    return record_body(n, subject=subject, decision_date="2026-11-18", **(fields | overrides))


@pytest.fixture
def court(token_for):
    return token_for(COURT, "records:write", "records:read")


@pytest.fixture
def persons(http, court, clock):
    clock(TODAY)
    for body in (person(31, "张三丰", LISTED), person(32, "李四光", SHARED, visibility="shared")):
        assert http.post("/v1/records", json=body, headers=court).status_code == 201


def _headers(answer) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in PER_REQUEST}


def _page(answer) -> str:
    """A page's text without what another request would fill differently (form tokens, nonces)."""
    text = re.sub(r'<input type="hidden"[^>]*>', "", answer.text)
    return re.sub(r'nonce="[^"]*"', "", text)


def _assert_alike(answers: list, *, page: bool = False) -> None:
    first = answers[0]
    for answer in answers[1:]:
        assert answer.status_code == first.status_code
        assert _headers(answer) == _headers(first)
        if page:
            assert _page(answer) == _page(first)
        else:
            assert answer.content == first.content


def test_the_fast_path_is_what_postgresql_answers_with(http):
    # The tests below go through app.public.fastpath's async lookup on PostgreSQL (the app's read
    # pool), its threadpool on SQLite.
    assert (http.app.state.read_pool is None) == get_settings().is_sqlite


@pytest.mark.parametrize(
    "template",
    [
        "/v1/public/subjects/{}",
        "/v1/public/subjects/{}/report.pdf",
        "/v1/public/subjects/{}/report.json",
        "/subjects/{}",
    ],
)
def test_a_resident_identity_number_is_never_confirmed(http, persons, template):
    numbers = [LISTED, LISTED.lower(), f" {LISTED} ", SHARED, NEVER]
    answers = [http.get(template.format(number)) for number in numbers]
    assert answers[0].status_code == 404
    if template.startswith("/v1/"):
        assert answers[0].json()["error"] == "not_found"
    assert "张三丰" not in answers[0].text and "李四光" not in answers[0].text
    _assert_alike(answers, page=not template.startswith("/v1/"))


def test_other_personal_numbers_are_not_looked_up_either(http, police, court, clock):
    clock(TODAY)
    passport = person(35, "约翰", "E12345678")
    passport["subject"]["identifier_type"] = "other"
    shop = record_body(  # a sole trader under the owner's number: a person's record (published by law here)
        36,
        domain="court_judgments",
        severity="general",
        subject={
            "kind": "individual_business",
            "name": "王记小吃店",
            "identifier_type": "resident_id",
            "identifier": make_resident_id(date(1970, 5, 6), 36),
        },
    )
    for body, headers in ((passport, court), (shop, court)):
        assert http.post("/v1/records", json=body, headers=headers).status_code == 201, body
    for key in ("E12345678", shop["subject"]["identifier"]):
        assert http.get(f"/v1/public/subjects/{key}").status_code == 404
        assert http.get("/v1/public/search", params={"q": key}).json()["items"] == []
    for name in ("约翰", "王记小吃店"):
        (item,) = http.get("/v1/public/search", params={"q": name}).json()["items"]
        assert http.get(f"/v1/public/subjects/{item['ref']}").status_code == 200


def test_search_by_a_resident_identity_number_finds_nothing(http, persons):
    for q in (LISTED, LISTED.lower(), LISTED[:6] + " " + LISTED[6:]):
        answer = http.get("/v1/public/search", params={"q": q})
        assert answer.status_code == 200 and answer.json()["items"] == [], q
    _assert_alike([http.get("/v1/public/search", params={"q": n}) for n in (LISTED, SHARED, NEVER)])
    pages = [http.get("/", params={"q": n}) for n in (LISTED, SHARED, NEVER)]
    assert pages[0].status_code == 200 and "/subjects/" not in pages[0].text
    assert "张三丰" not in pages[0].text and LISTED not in pages[0].text
    _assert_alike(pages, page=True)


def test_persons_are_found_by_name_and_opened_by_ref(http, persons):
    (item,) = http.get("/v1/public/search", params={"q": "张三丰"}).json()["items"]
    # Area and birth year only: with the sequence and check character hidden, a name and a rough birth
    # date no longer let anyone confirm a guessed number offline.
    masked = LISTED[:10] + "********"
    assert item["identifier"] == masked
    view = http.get(f"/v1/public/subjects/{item['ref']}")
    assert view.status_code == 200
    assert view.json()["subject"]["identifier"] == masked and len(view.json()["records"]) == 1
    report = http.get(f"/v1/public/subjects/{item['ref']}/report.json")
    assert report.status_code == 200 and report.json()["subject"]["identifier"] == masked
    page = http.get(f"/subjects/{item['ref']}")
    assert page.status_code == 200 and masked in page.text and LISTED[10:] not in page.text
    # Nobody learns a person's number from the sequence and check the court list would show.
    for text in (view.text, report.text, page.text):
        assert LISTED[14:] not in text.replace(LISTED[:10], "")


def test_a_name_carrying_an_identity_number_does_not_give_it_away(http, court, clock):
    clock(TODAY)
    # An agency pasted the number into the name field: the name is shown masked, and search must not
    # match the hidden digits (a substring search over them would confirm a guess one request at a time).
    body = person(34, f"王五（{LISTED}）", LISTED)
    assert http.post("/v1/records", json=body, headers=court).status_code == 201
    (item,) = http.get("/v1/public/search", params={"q": "王五"}).json()["items"]
    assert LISTED[10:] not in str(item)
    for q in (LISTED[10:], LISTED[8:16], LISTED[12:]):
        assert http.get("/v1/public/search", params={"q": q}).json()["items"] == [], q
    # A name with a whole number in it matches by what the public sees of it, whatever the number.
    _assert_alike([http.get("/v1/public/search", params={"q": f"王五{n}"}) for n in (LISTED, NEVER)])


def _hidden_organisation(http, police) -> uuid.UUID:
    """An organisation whose every record is shared, restricted, exited or revoked; its subject id."""
    uscc = make_uscc(40)
    bodies = [
        record_body(40, external_id="shared", visibility="shared"),
        record_body(40, external_id="restricted", visibility="restricted"),
        record_body(40, external_id="expired", severity="general", decision_date="2024-01-10"),
        record_body(40, external_id="revoked"),
    ]
    answer = http.post("/v1/records/batch", json={"records": bodies}, headers=police).json()
    assert answer["created"] == 4, answer
    revoke = {"reason": "复议撤销", "decision_no": "复字〔2026〕1号"}
    revoked = http.post(f"/v1/records/{answer['results'][-1]['id']}/revoke", json=revoke, headers=police)
    assert revoked.status_code == 200
    return uuid.UUID(http.get(f"/v1/subjects/{uscc}", headers=police).json()["subject"]["id"])


def test_an_organisation_with_nothing_in_public_force_answers_as_one_never_listed(http, police, clock):
    clock(TODAY)
    ref = _hidden_organisation(http, police)
    hidden, never = make_uscc(40), make_uscc(41)
    for template in (
        "/v1/public/subjects/{}",
        "/v1/public/subjects/{}/report.pdf",
        "/v1/public/subjects/{}/report.json",
    ):
        answers = [http.get(template.format(key)) for key in (hidden, never, ref, uuid.uuid4())]
        assert answers[0].status_code == 404 and answers[0].json()["error"] == "not_found"
        assert "测试科技有限公司40" not in answers[0].text
        _assert_alike(answers)
    pages = [http.get(f"/subjects/{key}") for key in (ref, uuid.uuid4(), hidden, never)]
    assert pages[0].status_code == 404 and "测试科技有限公司40" not in pages[0].text
    _assert_alike(pages, page=True)
    assert http.get("/v1/public/search", params={"q": "测试科技有限公司40"}).json()["items"] == []
    assert http.get("/v1/public/search", params={"q": hidden}).json()["items"] == []


def test_another_agencys_push_does_not_rename_what_the_public_sees(http, police, token_for, clock):
    tax = token_for(TAX, "records:write")
    clock(TODAY)
    listed = record_body(1, subject={"name": "北京星辰科技有限公司"})
    record = http.post("/v1/records", json=listed, headers=police).json()
    smear = record_body(
        2,
        subject={"name": "诈骗集团（已被通缉）有限公司", "identifier": make_uscc(1)},
        domain="tax_fraud",
        list_type="red",
        severity="general",
        visibility="restricted",
        decision_date="2026-11-19",
    )
    assert http.post("/v1/records", json=smear, headers=tax).status_code == 201

    view = http.get(f"/v1/public/subjects/{make_uscc(1)}").json()
    assert view["subject"]["name"] == "北京星辰科技有限公司"
    ref = view["subject"]["ref"]
    assert http.get("/v1/public/search", params={"q": "诈骗集团"}).json()["items"] == []
    assert http.get("/v1/public/search", params={"q": "zhapianjituan"}).json()["items"] == []
    (item,) = http.get("/v1/public/search", params={"q": "星辰科技"}).json()["items"]
    assert item["name"] == "北京星辰科技有限公司" and item["matched_name"] is None
    assert http.get(f"/v1/public/subjects/{make_uscc(1)}/report.json").json()["subject"]["name"] == (
        "北京星辰科技有限公司"
    )
    for path in (f"/subjects/{ref}", f"/records/{record['id']}/objection", "/?q=星辰科技"):
        page = http.get(path)
        assert page.status_code == 200 and "北京星辰科技有限公司" in page.text, path
        assert "诈骗集团" not in page.text, path
    assert "/subjects/" not in http.get("/", params={"q": "诈骗集团"}).text


def test_the_public_name_is_the_latest_decided_record_in_public_force(http, police, clock):
    clock(TODAY)
    first = record_body(1, subject={"name": "北京星辰科技有限公司"}, decision_date="2026-11-18")
    renamed = record_body(
        2,
        subject={"name": "北京辰光智能有限公司", "identifier": make_uscc(1)},
        decision_date="2026-11-19",
    )
    # Pushed in the other order: the decision date, not the push, says which name is current.
    for body in (renamed, first):
        assert http.post("/v1/records", json=body, headers=police).status_code == 201
    assert http.get(f"/v1/public/subjects/{make_uscc(1)}").json()["subject"]["name"] == "北京辰光智能有限公司"
    (item,) = http.get("/v1/public/search", params={"q": "北京星辰科技"}).json()["items"]
    assert item["name"] == "北京辰光智能有限公司" and item["matched_name"] == "北京星辰科技有限公司"


def test_the_access_log_masks_identity_numbers(http, persons, caplog):
    uscc = make_uscc(1)
    with caplog.at_level(logging.INFO, logger="registry.access"):
        for path in (
            f"/v1/public/subjects/{LISTED}",
            f"/v1/public/subjects/{LISTED.lower()}/report.pdf",
            f"/v1/public/subjects/{uscc}",
        ):
            http.get(path)
    paths = [r.fields["path"] for r in caplog.records if r.name == "registry.access"]
    assert paths == [
        f"/v1/public/subjects/{LISTED[:10]}********",
        f"/v1/public/subjects/{LISTED[:10]}********/report.pdf",
        f"/v1/public/subjects/{uscc}",
    ]


def _wide(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in text)


@pytest.mark.parametrize(
    "written",
    [
        _wide(LISTED),
        f"{LISTED[:6]} {LISTED[6:14]} {LISTED[14:]}",
        f"{LISTED[:6]}-{LISTED[6:14]}-{LISTED[14:]}",
        f"ID{LISTED}",
    ],
)
def test_a_number_typed_any_way_into_a_name_is_masked_and_not_searchable(http, police, clock, written):
    clock(TODAY)
    body = record_body(37, subject={"name": f"枣庄{written}商行"}, decision_date="2026-11-18")
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    (item,) = http.get("/v1/public/search", params={"q": "枣庄"}).json()["items"]
    view = http.get(f"/v1/public/subjects/{make_uscc(37)}")
    for text in (str(item), view.text, http.get(f"/subjects/{item['ref']}").text):
        assert LISTED[10:] not in text and _wide(LISTED[10:]) not in text
    for q in (LISTED[10:17], LISTED[11:], _wide(LISTED[10:17])):
        assert http.get("/v1/public/search", params={"q": q}).json()["items"] == [], q


def test_an_identifier_holding_a_persons_number_is_never_looked_up(http, police, clock):
    clock(TODAY)
    # Pushing one is refused now (app.kit.identifiers); one stored before is answered as for a person.
    body = record_body(
        38, subject={"kind": "individual_business", "identifier_type": "other", "identifier": LISTED}
    )
    refused = http.post("/v1/records", json=body, headers=police)
    assert refused.status_code == 422 and "resident_id" in refused.text
    from sqlalchemy import update

    from app.db import session_scope
    from app.models import Subject

    assert http.post("/v1/records", json=record_body(38), headers=police).status_code == 201
    with session_scope() as session:
        session.execute(
            update(Subject)
            .where(Subject.identifier == make_uscc(38))
            .values(identifier=LISTED, identifier_type="other")
        )
    assert http.get(f"/v1/public/subjects/{LISTED}").status_code == 404
    assert http.get(f"/v1/public/subjects/{LISTED}/report.pdf").status_code == 404
    (item,) = http.get("/v1/public/search", params={"q": "测试科技有限公司38"}).json()["items"]
    assert item["identifier"] == LISTED[:10] + "********"
    assert LISTED[10:] not in http.get(f"/v1/public/subjects/{item['ref']}").text


def test_a_ref_whose_hex_groups_look_like_a_number_is_still_a_ref():
    # Digit groups with separators between them make a number in free text; a ref's hex groups can
    # look the same (37040219-8005-1212-...), and must still be looked up as the ref they are.
    from app.kit.masking import holds_resident_id
    from app.public.view import lookup_statement

    ref = "37040219-8005-1212-37ab-cdef00000000"
    assert holds_resident_id(ref)
    lookup = lookup_statement(ref)
    assert lookup is not None and lookup[1] == {"ref": uuid.UUID(ref)}
    assert lookup_statement(LISTED) is None


def test_a_code_with_spaces_is_looked_up_as_the_special_report_reads_it(http, police, clock):
    clock(TODAY)
    assert http.post("/v1/records", json=record_body(39), headers=police).status_code == 201
    code = make_uscc(39)
    spaced = f"{code[:9]} {code[9:]}"
    assert http.get(f"/v1/public/subjects/{spaced}").status_code == 200
    assert http.get(f"/v1/public/subjects/{spaced}/special-report.pdf").status_code == 200
    # Typed in full width (a Chinese input method's): the same code, on every way in.
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in code)
    assert http.get(f"/v1/public/subjects/{wide}").json()["subject"]["identifier"] == code
    assert http.get(f"/v1/public/subjects/{wide}/special-report.pdf").status_code == 200
    assert [
        item["identifier"] for item in http.get("/v1/public/search", params={"q": wide}).json()["items"]
    ] == [code]


def test_an_organisations_code_that_also_reads_as_an_identity_number_is_found(http, police, clock):
    # 121101194002034561 is a valid unified social credit code (a public institution; its division
    # and organization codes read as an area and a birth date) and passes a resident identity
    # number's check too. It names an organisation: found, shown whole, reported on.
    clock(TODAY)
    code = "121101194002034561"
    subject = {"kind": "legal_person", "name": "某某事业单位", "identifier_type": "uscc", "identifier": code}
    assert http.post("/v1/records", json=record_body(43, subject=subject), headers=police).status_code == 201
    assert http.get(f"/v1/public/subjects/{code}").json()["subject"]["identifier"] == code
    assert [i["identifier"] for i in http.get("/v1/public/search", params={"q": code}).json()["items"]] == [
        code
    ]
    by_name = http.get("/v1/public/search", params={"q": "某某事业单位"}).json()["items"]
    assert [i["identifier"] for i in by_name] == [code]
    assert http.get(f"/v1/public/subjects/{code}/special-report.pdf").status_code == 200


def test_a_subjects_ref_tells_nothing_of_when_it_was_made(http, police, token_for):
    # A time-ordered ref (UUID version 7: its first 48 bits the creation time) made before the first
    # public record's id told that a hidden record of the subject came first.
    court = token_for(COURT, "records:write")
    shared = record_body(61, severity="minor", notice=None)
    assert http.post("/v1/records", json=shared, headers=police).status_code == 201
    public = record_body(
        62, domain="court_judgments", severity="general", subject=shared["subject"], notice=None
    )
    assert http.post("/v1/records", json=public, headers=court).status_code == 201
    found = http.get(f"/v1/public/subjects/{shared['subject']['identifier']}").json()
    assert uuid.UUID(found["subject"]["ref"]).version == 4  # random: no time in it
