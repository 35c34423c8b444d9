"""The people behind a dishonest organisation (文明委〔2020〕6号 二、9 相关责任主体; 枣文明委〔2019〕2号
二、3 相关机构及责任人, 二、13 责任人): named on its record, reached by the measures the rules extend to
them, and shown to approvers with the organisation they are reached through."""

from datetime import date

from tests.checks.helpers import APPROVER, approver, check
from tests.conftest import COURT, POLICE, make_resident_id, make_uscc, record_body

BOSS = make_resident_id(date(1975, 4, 9), 61)


def _boss(role: str = "legal_representative", identifier: str = BOSS) -> dict:
    subject = {"kind": "natural_person", "name": "钱老板", "identifier_type": "resident_id"}
    return {"role": role, "subject": subject | {"identifier": identifier}}


def _debtor(n: int = 1, **overrides) -> dict:
    """A court's listing of a company that does not pay, naming its legal representative."""
    fields = {"domain": "court_judgments", "severity": "general", "related": [_boss()]}
    return record_body(n, **(fields | overrides))


def test_a_debtors_legal_representative_may_not_consume_beyond_need(http, token_for, clock):
    court = token_for(COURT, "records:write", "records:read")
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    answer = http.post("/v1/records", json=_debtor(), headers=court)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["related"][0]["role"] == "legal_representative"
    assert record["related"][0]["subject"]["identifier"] == BOSS

    person = check(http, headers, BOSS, "high_consumption")
    # 《最高人民法院关于限制被执行人高消费及有关消费的若干规定》第三条第二款
    assert person["decision"] == "prohibit" and person["found"] is True
    (measure,) = person["measures"]
    assert measure["code"] == "restrict_high_consumption"
    assert measure["via_record_ids"] == [record["id"]] and "第三条第二款" in measure["legal_basis"]
    assert measure["via_record_id"] == record["id"]  # API.md, second release
    (shown,) = person["records"]
    assert shown["id"] == record["id"]
    assert shown["via"] == {
        "role": "legal_representative",
        "organisation": {"identifier": make_uscc(1), "name": "测试科技有限公司1"},
    }
    # What the rules do not extend to the person does not reach them; the company's listing is not
    # theirs, so it is no "strict review" floor either.
    assert check(http, headers, BOSS, "honors")["decision"] == "clear"
    assert check(http, headers, 1, "honors")["decision"] != "clear"
    # As the registry stood on a past day, too.
    clock("2026-11-22T10:00")
    assert check(http, headers, BOSS, "high_consumption", as_of="2026-11-20")["decision"] == "prohibit"


def test_the_government_view_of_a_person_lists_the_organisations_reaching_them(http, token_for):
    court = token_for(COURT, "records:write")
    reader = token_for(POLICE, "records:read")
    record = http.post("/v1/records", json=_debtor(2), headers=court).json()
    view = http.get(f"/v1/subjects/{BOSS}", headers=reader)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["records"] == [] and body["subject"]["name"] == "钱老板"
    (link,) = body["related_to"]
    assert link["record_id"] == record["id"] and link["role"] == "legal_representative"
    assert link["organisation"]["identifier"] == make_uscc(2) and link["domain"] == "court_judgments"


def test_another_agencys_restricted_record_does_not_name_the_organisation(http, token_for, clock):
    court = token_for(COURT, "records:write")
    headers = approver(token_for)
    clock("2026-11-18T10:00")
    http.post("/v1/records", json=_debtor(3, visibility="restricted"), headers=court)
    person = check(http, headers, BOSS, "high_consumption")
    assert person["decision"] == "prohibit"
    assert person["records"][0]["via"] == {"role": "legal_representative", "organisation": None}
    assert make_uscc(3) not in str(person) and person["measures"][0]["via_record_ids"] == []
    assert person["measures"][0]["via_record_id"] is None
    assert APPROVER


def test_related_parties_are_checked_like_subjects(http, token_for):
    court = token_for(COURT, "records:write")

    def refused(body: dict) -> dict:
        answer = http.post("/v1/records", json=body, headers=court)
        assert answer.status_code == 422, answer.text
        return answer.json()

    itself = {"role": "actual_controller", "subject": {"kind": "legal_person", "name": "本公司"}}
    itself["subject"] |= {"identifier_type": "uscc", "identifier": make_uscc(4)}
    same = refused(_debtor(4, related=[itself]))
    assert same["fields"][0]["field"] == "related[0].subject.identifier"
    minor = refused(_debtor(5, related=[_boss(identifier=make_resident_id(date(2012, 1, 1), 62))]))
    assert minor["error"] == "minor_subject"
    many = [_boss(identifier=make_resident_id(date(1970, 1, 1), 100 + n)) for n in range(21)]
    assert refused(_debtor(6, related=many))["fields"][0]["field"] == "related"
    bad_number = _boss(identifier=BOSS[:-1] + ("0" if BOSS[-1] != "0" else "1"))
    assert refused(_debtor(7, related=[bad_number]))["fields"][0]["field"].startswith("related[0]")
    twice = refused(_debtor(8, related=[_boss(), _boss()]))
    assert "twice" in twice["fields"][0]["detail"]


def test_a_related_party_is_one_subject_across_records(http, token_for):
    court = token_for(COURT, "records:write")
    first = http.post("/v1/records", json=_debtor(9), headers=court).json()
    second = http.post("/v1/records", json=_debtor(10, related=[_boss("principal")]), headers=court).json()
    assert first["related"][0]["subject"]["id"] == second["related"][0]["subject"]["id"]
    reader = token_for(POLICE, "records:read")
    roles = sorted(
        link["role"] for link in http.get(f"/v1/subjects/{BOSS}", headers=reader).json()["related_to"]
    )
    assert roles == ["legal_representative", "principal"]


def test_an_empty_list_of_parties_is_the_same_push_as_none(http, police):
    first = http.post("/v1/records", json=record_body(60), headers=police)
    assert first.status_code == 201
    again = http.post("/v1/records", json=record_body(60, related=[]), headers=police)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
