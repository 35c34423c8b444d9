"""The public entity view: records in public force across domains, with what the public needs to know."""

from datetime import date

from tests.conftest import COURT, make_resident_id, make_uscc, record_body

TODAY = "2026-11-20T10:00"


def test_entity_shows_its_public_records_across_domains(http, police, token_for, clock):
    court = token_for(COURT, "records:write")
    clock(TODAY)
    timely = record_body(1, subject={"name": "北京星辰科技有限公司"}, decision_date="2026-11-18")
    late = record_body(
        2,
        subject={"name": "北京星辰科技有限公司", "identifier": make_uscc(1)},
        severity="general",
        decision_date="2026-05-28",
        external_id="late-1",
    )
    judged = record_body(
        3,
        subject={"name": "北京星辰科技有限公司", "identifier": make_uscc(1)},
        domain="court_judgments",
        decision_no="(2026)京01执123号",
        conduct="有履行能力而拒不履行生效法律文书确定的义务",
        legal_basis="《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
    )
    for body, headers in ((timely, police), (late, police), (judged, court)):
        assert http.post("/v1/records", json=body, headers=headers).status_code == 201
    objection = {
        "record_id": http.get(f"/v1/public/subjects/{make_uscc(1)}").json()["records"][0]["id"],
        "reason": "inaccurate",
        "statement": "决定书日期有误",
        "contact": "010-1234567",
    }
    assert http.post("/v1/public/objections", json=objection).status_code == 201

    answer = http.get(f"/v1/public/subjects/{make_uscc(1).lower()}")
    assert answer.status_code == 200
    view = answer.json()
    assert view["subject"] == {
        "name": "北京星辰科技有限公司",
        "kind": "legal_person",
        "identifier": make_uscc(1),
        "ref": view["subject"]["ref"],
    }
    assert {r["domain"] for r in view["records"]} == {"telecom_fraud", "court_judgments"}
    assert view["black_count"] == 3 and view["late_disclosures"] == 1
    record = next(r for r in view["records"] if r["domain"] == "court_judgments")
    assert record["designating_agency"]["name_zh"] == "最高人民法院"
    assert record["decision_no"] == "(2026)京01执123号"
    assert record["publicity_end"] and record["conduct"].startswith("有履行能力")
    assert sum(r["under_objection"] for r in view["records"]) == 1
    # The search's ref opens the same view.
    assert http.get(f"/v1/public/subjects/{view['subject']['ref']}").json() == view


def test_exited_and_unpublished_records_leave_the_view(http, police, clock):
    clock(TODAY)
    kept = record_body(1, decision_date="2026-11-18")
    hidden = [
        record_body(1, external_id="shared", visibility="shared", decision_date="2026-11-18"),
        record_body(1, external_id="restricted", visibility="restricted", decision_date="2026-11-18"),
        record_body(1, external_id="minor", severity="minor", decision_date="2026-11-18"),  # shared
        record_body(1, external_id="focus", list_type="focus", decision_date="2026-11-18"),
        record_body(1, external_id="expired", severity="general", decision_date="2024-01-10"),
        record_body(1, external_id="revoked", decision_date="2026-11-18"),
    ]
    answer = http.post("/v1/records/batch", json={"records": [kept, *hidden]}, headers=police).json()
    assert answer["created"] == 7, answer
    revoked_id = answer["results"][-1]["id"]
    revoke = {"reason": "复议撤销", "decision_no": "复字〔2026〕1号"}
    assert http.post(f"/v1/records/{revoked_id}/revoke", json=revoke, headers=police).status_code == 200
    view = http.get(f"/v1/public/subjects/{make_uscc(1)}").json()
    assert [r["id"] for r in view["records"]] == [answer["results"][0]["id"]]


def test_persons_without_public_records_are_not_found(http, police, clock):
    clock(TODAY)
    resident_id = make_resident_id(date(1988, 2, 3), 7)
    subject = {
        "kind": "natural_person",
        "name": "赵六",
        "identifier_type": "resident_id",
        "identifier": resident_id,
    }
    shared = record_body(9, subject=subject, visibility="shared", decision_date="2026-11-18")
    assert http.post("/v1/records", json=shared, headers=police).status_code == 201
    # An identity number alone must not reveal whose it is.
    answer = http.get(f"/v1/public/subjects/{resident_id}")
    assert answer.status_code == 404 and "赵六" not in answer.text
    assert http.get("/v1/public/subjects/91110000000000999X").json()["error"] == "not_found"


def test_a_minors_red_record_is_not_published(http, token_for, clock):
    tax = token_for("zaozhuang.taxation", "records:write")
    clock(TODAY)
    resident_id = make_resident_id(date(2010, 1, 1), 8)
    subject = {
        "kind": "natural_person",
        "name": "小明",
        "identifier_type": "resident_id",
        "identifier": resident_id,
    }
    body = record_body(8, subject=subject, list_type="red", domain="tax_fraud", decision_date="2026-11-18")
    answer = http.post("/v1/records", json=body, headers=tax)
    assert answer.status_code == 201, answer.text
    assert http.get(f"/v1/public/subjects/{resident_id}").status_code == 404
    assert http.get("/v1/public/search", params={"q": "小明"}).json()["items"] == []


def test_identity_numbers_written_into_free_text_are_masked(http, police, clock):
    clock(TODAY)
    resident_id = make_resident_id(date(1979, 9, 21), 4)
    body = record_body(
        4, conduct=f"法定代表人（身份证号 {resident_id}）组织实施诈骗", decision_date="2026-11-18"
    )
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    text = http.get(f"/v1/public/subjects/{make_uscc(4)}").text
    assert resident_id[10:] not in text and resident_id[:10] + "********" in text
