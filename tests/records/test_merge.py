"""An administrator merges two subjects found to be the same entity: audited, undone exactly, and
every record keeps its history; into itself or across kinds is refused."""

from datetime import date

from tests.checks.helpers import approver, check, push
from tests.conftest import TAX, make_resident_id, make_uscc, record_body

ADMIN_AGENCY = "national.market_regulation"


def _check_other(http, headers, identifier: str) -> dict:
    subject = {"identifier": identifier, "identifier_type": "other"}
    answer = http.post("/v1/checks", json={"subject": subject, "action": "financing"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _invented(n: int) -> dict:
    """A company an agency listed under an identifier it invented, before its code was known."""
    return {
        "subject": {
            "kind": "legal_person",
            "name": "测试科技有限公司7",
            "identifier_type": "other",
            "identifier": f"TMP-{n}",
        }
    }


def test_a_merge_moves_the_records_and_undoing_it_moves_them_back(http, police, token_for):
    admin = token_for(ADMIN_AGENCY, "admin")
    auditor = token_for(ADMIN_AGENCY, "audit:read")
    tax = token_for(TAX, "records:write", "records:read")
    headers = approver(token_for)
    kept = push(http, police, 7)  # 测试科技有限公司7 under its code
    invented = push(http, tax, 8, domain="tax_fraud", **_invented(8))
    body = {"from": "TMP-8", "into": make_uscc(7), "reason": "同一企业：统一社会信用代码经核实"}
    answer = http.post("/v1/admin/subjects/merge", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    merged = answer.json()
    assert merged["records"] == [invented["id"]] and merged["undone_at"] is None
    assert merged["from"]["identifier"] == "TMP-8" and merged["into"]["identifier"] == make_uscc(7)
    # The record now names the company under its code; a check by code sees both listings, and the
    # old identifier leads there too.
    moved = http.get(f"/v1/records/{invented['id']}", headers=tax).json()
    assert moved["subject"]["identifier"] == make_uscc(7)
    by_code = check(http, headers, 7, "financing")
    assert {r["id"] for r in by_code["records"] if r["id"]} >= {kept["id"]} and len(by_code["records"]) == 2
    assert len(_check_other(http, headers, "TMP-8")["records"]) == 2
    # The government view under the old identifier shows the subject that remains.
    view = http.get("/v1/subjects/TMP-8", headers=tax).json()
    assert view["subject"]["identifier"] == make_uscc(7) and len(view["records"]) == 2
    # A later push under the old identifier reaches the subject that remains (without renaming it:
    # the name is the merged entity's); one under the code is the remaining subject's own.
    under_old = _invented(8)
    under_old["subject"]["name"] = "乙贸易有限公司"
    later = push(http, tax, 9, domain="tax_fraud", **under_old)
    assert later["subject"]["identifier"] == make_uscc(7)
    own = push(
        http, tax, 10, domain="tax_fraud", subject={"identifier": make_uscc(7), "name": "测试科技有限公司7"}
    )
    # The record's history shows the move.
    history = http.get(f"/v1/records/{invented['id']}/history", headers=tax).json()
    assert [event["event"] for event in history][-1] == "record.subject_merged"

    # Undo: what the merge moved goes back, with what was pushed since under the old identifier (a
    # merge found wrong must not leave the other entity sanctioned); the code's own record stays.
    undone = http.post(f"/v1/admin/merges/{merged['id']}/undo", headers=admin)
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    back = http.get(f"/v1/records/{invented['id']}", headers=tax).json()
    assert back["subject"]["identifier"] == "TMP-8"
    assert http.get(f"/v1/records/{later['id']}", headers=tax).json()["subject"]["identifier"] == "TMP-8"
    assert http.get(f"/v1/records/{own['id']}", headers=tax).json()["subject"]["identifier"] == make_uscc(7)
    assert len(_check_other(http, headers, "TMP-8")["records"]) == 2
    assert {r["id"] for r in check(http, headers, 7, "financing")["records"]} == {kept["id"], own["id"]}
    # Neither the other entity's name nor its records are left on the company.
    view = http.get(f"/v1/subjects/{make_uscc(7)}", headers=tax).json()
    assert view["subject"]["name"] == "测试科技有限公司7"
    found = http.get("/v1/public/search", params={"q": "乙贸易有限公司"}).json()["items"]
    assert [item["identifier"] for item in found] == ["TMP-8"]
    history = http.get(f"/v1/records/{invented['id']}/history", headers=tax).json()
    assert [event["event"] for event in history][-2:] == ["record.subject_merged", "record.subject_unmerged"]
    assert http.post(f"/v1/admin/merges/{merged['id']}/undo", headers=admin).status_code == 409
    trail = http.get("/v1/admin/audit", params={"limit": 1000}, headers=auditor).json()["items"]
    actions = [entry["action"] for entry in trail]
    assert "subject.merged" in actions and "subject.merge_undone" in actions


def test_a_related_party_follows_the_merge(http, token_for):
    admin = token_for(ADMIN_AGENCY, "admin")
    court = token_for("national.supreme_court", "records:write")
    headers = approver(token_for)
    boss = make_resident_id(date(1975, 4, 9), 71)
    other = {"kind": "natural_person", "name": "钱老板", "identifier_type": "other", "identifier": "P-71"}
    person = {
        "kind": "natural_person",
        "name": "钱老板",
        "identifier_type": "resident_id",
        "identifier": boss,
    }
    related = [{"role": "legal_representative", "subject": other}]
    http.post(
        "/v1/records",
        json=record_body(11, domain="court_judgments", severity="general", related=related),
        headers=court,
    )
    http.post(
        "/v1/records",
        json=record_body(
            12, domain="court_judgments", severity="general", subject=person | {"kind": "natural_person"}
        ),
        headers=court,
    )
    assert [r.get("via") for r in check(http, headers, boss, "high_consumption")["records"]] == [None]
    body = {"from": "P-71", "into": boss, "reason": "护照与身份证为同一人"}
    assert http.post("/v1/admin/subjects/merge", json=body, headers=admin).status_code == 200
    vias = [r.get("via") for r in check(http, headers, boss, "high_consumption")["records"]]
    assert any(via and via["role"] == "legal_representative" for via in vias)


def test_bad_merges_are_refused(http, police, token_for):
    admin = token_for(ADMIN_AGENCY, "admin")
    writer = token_for(ADMIN_AGENCY, "records:write")
    push(http, police, 13)
    person = {
        "kind": "natural_person",
        "name": "孙某",
        "identifier_type": "resident_id",
        "identifier": make_resident_id(date(1980, 1, 1), 13),
    }
    push(http, police, 14, subject=person)
    url = "/v1/admin/subjects/merge"
    reason = {"reason": "核实"}
    itself = http.post(url, json={"from": make_uscc(13), "into": make_uscc(13)} | reason, headers=admin)
    assert itself.status_code == 422 and "itself" in itself.text
    across = http.post(
        url, json={"from": person["identifier"], "into": make_uscc(13)} | reason, headers=admin
    )
    assert across.status_code == 422 and "kind" in across.text
    unknown = http.post(url, json={"from": "NOPE-1", "into": make_uscc(13)} | reason, headers=admin)
    assert unknown.status_code == 404
    assert http.post(url, json={"from": "x", "into": "y"}, headers=admin).status_code == 422  # no reason
    assert http.post(url, json={"from": "x", "into": "y"} | reason, headers=writer).status_code == 403
    assert (
        http.post("/v1/admin/merges/00000000-0000-0000-0000-000000000000/undo", headers=admin).status_code
        == 404
    )


def test_a_merge_never_puts_a_black_record_on_a_minor(http, police, token_for):
    # A minor on the red list (allowed); an adult's black record under a number given as "other":
    # merged into the minor, the sanction would reach a child (法释〔2017〕7号).
    admin = token_for(ADMIN_AGENCY, "admin")
    child = make_resident_id(date(2015, 3, 1), 41)
    person = {
        "kind": "natural_person",
        "name": "王小明",
        "identifier_type": "resident_id",
        "identifier": child,
    }
    red = http.post("/v1/records", json=record_body(41, subject=person, list_type="red"), headers=police)
    assert red.status_code == 201, red.text
    other = {
        "kind": "natural_person",
        "name": "王小明",
        "identifier_type": "other",
        "identifier": "PASSPORT-E41",
    }
    black = http.post("/v1/records", json=record_body(42, subject=other), headers=police)
    assert black.status_code == 201, black.text
    body = {"from": "PASSPORT-E41", "into": child, "reason": "同一人"}
    refused = http.post("/v1/admin/subjects/merge", json=body, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"] == "minor_subject"
    assert http.get(f"/v1/records/{black.json()['id']}", headers=police).json()["subject"]["identifier"] == (
        "PASSPORT-E41"
    )


def test_a_minor_merged_into_a_listed_adult_is_refused_too(http, police, token_for):
    # The other way round: merged away, the child's number would lead to the adult's black record
    # (a check on it answered the adult's sanctions).
    admin = token_for(ADMIN_AGENCY, "admin")
    adult = make_resident_id(date(1980, 1, 1), 43)
    child = make_resident_id(date(2015, 1, 1), 44)
    for n, identifier, list_type in ((43, adult, "black"), (44, child, "red")):
        person = {
            "kind": "natural_person",
            "name": "李某",
            "identifier_type": "resident_id",
            "identifier": identifier,
        }
        body = record_body(n, subject=person, list_type=list_type)
        assert http.post("/v1/records", json=body, headers=police).status_code == 201
    body = {"from": child, "into": adult, "reason": "同一人"}
    refused = http.post("/v1/admin/subjects/merge", json=body, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"] == "minor_subject"
    approver = token_for("national.market_regulation", "checks:write")
    checked = http.post(
        "/v1/checks",
        json={"subject": {"identifier": child}, "action": "administrative_license"},
        headers=approver,
    ).json()
    assert [record["list_type"] for record in checked["records"]] == ["red"]
