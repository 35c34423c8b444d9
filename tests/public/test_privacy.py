"""Privacy where the public can reach: thousands of generated persons, every public answer scanned.

No answer or page may carry a full identity number, nor confirm one (a person is opened by the
opaque ref that search answers with, never by number), and records that are shared, restricted,
exited, of minor severity, on the focus list, or about minors never appear anywhere.
"""

import io
import random
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from tests.conftest import make_resident_id, record_body

TODAY = "2026-11-20T10:00"
PERSONS = 2000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
# Per person: what is pushed about them, and whether the public may see it.
CATEGORIES = [
    ("public", {}, True),
    ("public_red", {"list_type": "red", "severity": "general"}, True),
    ("shared", {"visibility": "shared"}, False),
    ("restricted", {"visibility": "restricted"}, False),
    ("minor_severity", {"severity": "minor"}, False),  # shared unless its agency publishes it
    ("focus", {"list_type": "focus"}, False),
    ("expired", {"severity": "general", "decision_date": "2024-03-01"}, False),
    ("revoked", {}, False),
    ("minor_person_red", {"list_type": "red", "severity": "general"}, False),
]
FULL_ID = re.compile(r"\d{17}[\dX]")


def _people():
    rng = random.Random(20261120)
    people = []
    for n in range(PERSONS):
        category, overrides, visible = CATEGORIES[n % len(CATEGORIES)]
        if category == "minor_person_red":
            birth = date(2010, 1, 1) + timedelta(days=rng.randrange(2000))
        else:
            birth = date(1950, 1, 1) + timedelta(days=rng.randrange(18000))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        identifier = make_resident_id(birth, n, area=f"{110101 + n // 1000}")
        marker = "" if visible else f"HIDDEN-{category}-"
        body = record_body(
            10_000 + n,
            subject={
                "kind": "natural_person",
                "name": name,
                "identifier_type": "resident_id",
                "identifier": identifier,
            },
            conduct=f"{marker}参与电信网络诈骗",
            **({"decision_date": "2026-11-18"} | overrides),
        )
        if category == "public_red":
            body["domain"] = "tax_fraud"
        people.append(
            {"id": identifier, "name": name, "category": category, "visible": visible, "body": body}
        )
    return people


@pytest.fixture
def population(http, police, token_for, clock, persons_published):
    # Persons are published only where a domain's rule says so (国办发〔2020〕49号): the fixture
    # publishes them in these domains, so that what is public can be scanned for what must never show.
    return _populate(http, police, token_for, clock)


def _populate(http, police, token_for, clock):
    tax = token_for("zaozhuang.taxation", "records:write")
    clock(TODAY)
    people = _people()
    revoked = []
    for headers, group in (
        (police, [p for p in people if p["body"]["domain"] == "telecom_fraud"]),
        (tax, [p for p in people if p["body"]["domain"] == "tax_fraud"]),
    ):
        answer = http.post("/v1/records/batch", json={"records": [p["body"] for p in group]}, headers=headers)
        assert answer.status_code == 200
        results = answer.json()["results"]
        assert all(r["status"] == "created" for r in results), [
            r for r in results if r["status"] != "created"
        ][:3]
        revoked += [r["id"] for p, r in zip(group, results, strict=True) if p["category"] == "revoked"]
    for record_id in revoked:
        revoke = {"reason": "复议撤销", "decision_no": "复字〔2026〕9号"}
        assert http.post(f"/v1/records/{record_id}/revoke", json=revoke, headers=police).status_code == 200
    return people


def _assert_private(text: str, full_ids: set[str], where: str) -> None:
    leaked = set(FULL_ID.findall(text)) & full_ids
    assert not leaked, f"{where} shows full identity numbers {sorted(leaked)[:3]}"
    assert "HIDDEN-" not in text, f"{where} shows a record the public may not see"


def test_no_public_answer_or_page_reveals_an_identity_number_or_a_hidden_record(http, police, population):
    full_ids = {p["id"] for p in population}
    scanned = 0

    def scan(path: str, **params) -> object:
        nonlocal scanned
        answer = http.get(path, params=params)
        assert answer.status_code in (200, 404, 422), (path, answer.status_code, answer.text[:200])
        _assert_private(answer.text, full_ids, f"{path} {params}")
        scanned += 1
        return answer

    not_found = None
    for person in population:
        # Listed or not, visible or not: the same 404, so that no guess of a number is ever confirmed.
        answer = scan(f"/v1/public/subjects/{person['id']}")
        assert answer.status_code == 404, (person["category"], answer.text)
        assert answer.content == (not_found := not_found or answer.content)

    def ref_of(person: dict) -> str:  # the subject id, as the government view knows it
        return http.get(f"/v1/subjects/{person['id']}", headers=police).json()["subject"]["id"]

    names = sorted({p["name"] for p in population})[::7]  # every person's name is pushed; a sample is asked
    pinyin_queries = ["wang", "li", "zhang", "wangwei", "lina", "zw", "lj", "chenjie"]
    for q in [*names, *pinyin_queries]:
        answer = scan("/v1/public/search", q=q, limit=20)
        if answer.status_code == 200:
            assert len(answer.json()["items"]) <= 20
        scan("/", q=q)
    for person in population[:: len(CATEGORIES) * 5 + 1]:
        scan("/v1/public/search", q=person["id"])
        scan("/", q=person["id"])
    visible = [p for p in population if p["visible"]]
    for person in visible[:: max(1, len(visible) // 150)]:
        ref = ref_of(person)
        view = scan(f"/v1/public/subjects/{ref}").json()
        assert len(view["records"]) == 1 and view["subject"]["identifier"] == person["id"][:10] + "*" * 8
        scan(f"/subjects/{ref}")
        scan(f"/v1/public/subjects/{ref}/report.json")
    for person in population[:: len(CATEGORIES) * 7 + 1]:
        if not person["visible"]:
            assert http.get(f"/v1/public/subjects/{ref_of(person)}").status_code == 404
    for person in visible[:5]:
        pdf = http.get(f"/v1/public/subjects/{ref_of(person)}/report.pdf")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        _assert_private(text + pdf.content.decode("latin-1"), full_ids, "report.pdf")
        scan(f"/reports/{pdf.headers['x-report-id']}")
        scan(f"/v1/public/reports/{pdf.headers['x-report-id']}")
    assert scanned > PERSONS + len(names)


def test_search_cannot_enumerate_the_registry(http, population):
    # A whole surname matches hundreds of people: the answer stops at 20, total at the candidate cap.
    answer = http.get("/v1/public/search", params={"q": "wang", "limit": 20}).json()
    assert len(answer["items"]) <= 20 and answer["total"] <= 50
    assert http.get("/v1/public/search", params={"q": "王"}).status_code == 422
