"""Who looked: every government-view read and every check, with client, agency, action and reference,
read back by the credit office (国办发〔2020〕49号: strict query permissions)."""

from tests.checks.helpers import APPROVER, approver, check
from tests.conftest import POLICE, make_uscc, record_body


def _log(http, headers, **params):
    answer = http.get("/v1/admin/access-log", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_reads_and_checks_are_logged_with_who_why_and_reference(http, police, token_for):
    auditor = token_for("national.market_regulation", "audit:read")
    reader = token_for(APPROVER, "records:read")
    checker = approver(token_for)
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    http.post("/v1/records", json=record_body(2), headers=police)
    identifier = make_uscc(1)

    assert (
        http.get(
            f"/v1/subjects/{identifier}",
            params={"action": "administrative_license", "reference": "许可-77"},
            headers=reader,
        ).status_code
        == 200
    )
    assert http.get(f"/v1/records/{record['id']}", headers=reader).status_code == 200
    check(http, checker, 1, "financing", reference="融资-5")
    check(http, checker, 2, "financing")

    items = _log(http, auditor, subject=identifier)["items"]
    assert [(i["kind"], i["what"], i["action"], i["reference"]) for i in items] == [
        ("read", "subject", "administrative_license", "许可-77"),
        ("read", "record", "government_view", None),
        ("check", "check", "financing", "融资-5"),
    ]
    assert {i["agency"] for i in items} == {APPROVER}
    assert items[2]["decision"] == "restrict"
    everything = _log(http, auditor)["items"]
    assert len(everything) == 4 and all(i["identifier"] != make_uscc(3) for i in everything)


def test_the_log_pages_with_a_cursor_and_filters_by_client(http, police, token_for):
    auditor = token_for(POLICE, "audit:read")
    checker = approver(token_for)
    other = approver(token_for)
    http.post("/v1/records", json=record_body(1), headers=police)
    for _ in range(3):
        check(http, checker, 1, "financing")
    check(http, other, 1, "financing")
    first = _log(http, auditor, limit=2)
    second = _log(http, auditor, limit=2, after=first["next"])
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert _log(http, auditor, after=second["next"])["items"] == []
    client = first["items"][0]["client_id"]
    assert len(_log(http, auditor, client=client)["items"]) == 3


def test_the_log_is_for_auditors_only(http, token_for):
    assert http.get("/v1/admin/access-log", headers=approver(token_for)).status_code == 403
    bad = http.get("/v1/admin/access-log", params={"after": "x"}, headers=token_for(POLICE, "audit:read"))
    assert bad.status_code == 422


def test_a_reference_with_control_characters_is_refused_not_a_500(http, police, token_for):
    """Found by the fuzzer: a control character in the reference of a government-view read reached
    the access log's check unguarded and answered 500."""
    reader = token_for(APPROVER, "records:read")
    http.post("/v1/records", json=record_body(1), headers=police)
    answer = http.get(f"/v1/subjects/{make_uscc(1)}", params={"reference": "\x17þ\x87 p"}, headers=reader)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "reference"
    assert (
        http.get(f"/v1/subjects/{make_uscc(1)}", params={"reference": "许可-78"}, headers=reader).status_code
        == 200
    )


def test_a_page_of_records_and_a_history_are_logged_for_each_subject_they_show(http, police, token_for):
    # Oversight asked about a subject finds every read of its records, a page of them included.
    auditor = token_for("national.market_regulation", "audit:read")
    reader = token_for("zaozhuang.public_security", "records:read")
    first = http.post("/v1/records", json=record_body(1), headers=police).json()
    http.post("/v1/records", json=record_body(2), headers=police)
    page = http.get("/v1/records", params={"agency": POLICE}, headers=reader)
    assert page.status_code == 200 and page.json()["total"] == 2
    assert http.get(f"/v1/records/{first['id']}/history", headers=reader).status_code == 200
    read = [(i["what"], i["record_id"]) for i in _log(http, auditor, subject=make_uscc(1))["items"]]
    assert read == [("records", first["id"]), ("history", first["id"])]
    assert [i["what"] for i in _log(http, auditor, subject=make_uscc(2))["items"]] == ["records"]
