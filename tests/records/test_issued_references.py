"""Organisations without a code (枣文明委〔2019〕2号 二、15: illegal social organisations): the registry
issues a reference on the first push, stable and never reused, found again by name and jurisdiction,
so that two agencies listing the same unregistered group reach one subject."""

from tests.conftest import COURT, TAX, record_body

GROUP = "枣庄市某某非法社会组织联合会"
ZAOZHUANG = "370400"


def _group(n: int, name: str = GROUP, jurisdiction: str | None = ZAOZHUANG, **overrides) -> dict:
    subject = {"kind": "other_org", "name": name, "identifier_type": "other", "jurisdiction": jurisdiction}
    body = record_body(n, **overrides)
    body["subject"] = {key: value for key, value in subject.items() if value is not None}
    return body


def test_two_agencies_listing_one_unregistered_group_reach_one_subject(http, police, token_for):
    tax = token_for(TAX, "records:write")
    auditor = token_for("national.market_regulation", "audit:read")
    first = http.post("/v1/records", json=_group(1), headers=police)
    assert first.status_code == 201, first.text
    reference = first.json()["subject"]["identifier"]
    assert reference.startswith("R" + ZAOZHUANG) and first.json()["subject"]["identifier_type"] == "other"
    # The same push again: recognized, the same reference.
    again = http.post("/v1/records", json=_group(1), headers=police)
    assert again.status_code == 200 and again.json()["subject"]["identifier"] == reference
    # Another agency, the name written with its place left out, in traditional characters, full width.
    other = _group(2, "某某非法社會組織聯合會", domain="tax_fraud")
    second = http.post("/v1/records", json=other, headers=tax)
    assert second.status_code == 201, second.text
    assert second.json()["subject"]["identifier"] == reference
    assert second.json()["subject"]["id"] == first.json()["subject"]["id"]
    # The reference works as any identifier: a push naming it, a check, the government view.
    by_reference = record_body(3, subject={"kind": "other_org", "name": GROUP, "identifier_type": "other"})
    by_reference["subject"]["identifier"] = reference
    assert (
        http.post("/v1/records", json=by_reference, headers=police).json()["subject"]["id"]
        == (first.json()["subject"]["id"])
    )
    # The same name in another jurisdiction is another group, with its own reference.
    elsewhere = http.post("/v1/records", json=_group(4, jurisdiction="371300"), headers=police)
    assert elsewhere.status_code == 201 and elsewhere.json()["subject"]["identifier"] != reference
    # Issuing is audited.
    trail = http.get("/v1/admin/audit", params={"limit": 1000}, headers=auditor).json()["items"]
    issued = [entry for entry in trail if entry["action"] == "subject.reference_issued"]
    assert [entry["entity_id"] for entry in issued][:1] == [reference] and len(issued) == 2


def test_without_an_identifier_only_an_organisation_with_its_jurisdiction(http, police):
    no_jurisdiction = _group(5, jurisdiction=None)
    answer = http.post("/v1/records", json=no_jurisdiction, headers=police)
    assert answer.status_code == 422 and "jurisdiction" in answer.text
    person = _group(6)
    person["subject"]["kind"] = "natural_person"
    assert http.post("/v1/records", json=person, headers=police).status_code == 422
    uscc = _group(7)
    uscc["subject"]["identifier_type"] = "uscc"
    assert http.post("/v1/records", json=uscc, headers=police).status_code == 422
    for bad in ("37040", "3704000", "A70400", "070400"):
        assert http.post("/v1/records", json=_group(8, jurisdiction=bad), headers=police).status_code == 422
    assert COURT


def test_invisible_characters_in_a_name_are_refused(http, police):
    # A zero-width space, a byte-order mark or a soft hyphen copied from a document would make the
    # same group a second subject under a second reference; a bidirectional override shows the name
    # reversed on public pages and reports; a line break breaks every one-line display.
    for n, name in enumerate(
        (
            "某某\u200b非法社会组织联合会",
            "某某非法社会组织联合会\ufeff",
            "某某非法\u00ad社会组织联合会",
            "某某\u202e会合联织组会社法非",
            "某某非法社会组织\n联合会",
        ),
        start=40,
    ):
        answer = http.post("/v1/records", json=_group(n, name), headers=police)
        assert answer.status_code == 422, (name, answer.text)
        assert answer.json()["fields"][0]["field"] == "subject.name"
    # Names of people of China's minorities keep their separating dot.
    person = record_body(
        46,
        list_type="red",
        severity="general",
        subject={"kind": "other_org", "name": "阿卜杜·热合曼合作社", "identifier_type": "other"},
    )
    person["subject"]["jurisdiction"] = ZAOZHUANG
    del person["subject"]["identifier"]
    assert http.post("/v1/records", json=person, headers=police).status_code == 201


def test_a_check_reads_a_reference_whatever_its_case_and_refuses_one_never_issued(http, police, token_for):
    approver = token_for("zaozhuang.administrative_approval", "checks:write")
    reference = http.post("/v1/records", json=_group(5), headers=police).json()["subject"]["identifier"]
    never = "R" + ZAOZHUANG + "0123456789"  # well formed, never issued
    assert never != reference

    def ask(identifier):
        subject = {"identifier": identifier, "identifier_type": "other"}
        body = {"subject": subject, "action": "public_procurement"}
        return http.post("/v1/checks", json=body, headers=approver)

    lower = ask(reference.lower())
    assert lower.status_code == 200 and lower.json()["found"] is True, lower.text
    assert lower.json()["identifier"] == reference
    refused = ask(never)
    assert refused.status_code == 422 and "R…" in refused.json()["detail"]
    items = [
        {"subject": {"identifier": identifier, "identifier_type": "other"}, "action": "public_procurement"}
        for identifier in (never.lower(), reference.lower(), "某外国公司注册号12345")
    ]
    results = http.post("/v1/checks/batch", json={"items": items}, headers=approver).json()["results"]
    assert [r.get("status") for r in results] == ["error", None, None]
    assert results[0]["index"] == 0 and results[1]["found"] is True and results[2]["found"] is False


def test_a_reference_given_alone_is_read_as_the_registrys_own(http, police, token_for):
    # Without identifier_type, as an 18-character code would be: the reference's shape is its standard.
    approver = token_for("zaozhuang.administrative_approval", "checks:write")
    reference = http.post("/v1/records", json=_group(6), headers=police).json()["subject"]["identifier"]
    full_width = reference.translate({code: code + 0xFEE0 for code in range(0x21, 0x7F)})
    for typed in (reference.lower(), full_width):
        alone = http.post(
            "/v1/checks",
            json={"subject": {"identifier": typed}, "action": "public_procurement"},
            headers=approver,
        )
        assert alone.status_code == 200 and alone.json()["found"] is True, (typed, alone.text)
    never = http.post(
        "/v1/checks",
        json={"subject": {"identifier": "R" + ZAOZHUANG + "0123456789"}, "action": "public_procurement"},
        headers=approver,
    )
    assert never.status_code == 422 and "R…" in never.json()["detail"]


def test_a_watchlist_refuses_a_reference_never_issued_as_a_check_does(http, police, token_for):
    # A watchlist answers with signed receipts as a check does: "clear" about a reference that names
    # nothing would be a signed answer about an identifier that cannot exist.
    approver = token_for("zaozhuang.administrative_approval", "checks:write")
    reference = http.post("/v1/records", json=_group(7), headers=police).json()["subject"]["identifier"]
    never = "R" + ZAOZHUANG + "0123456789"
    body = {"name": "suppliers", "action": "public_procurement", "identifiers": [reference.lower(), never]}
    refused = http.post("/v1/watchlists", json=body, headers=approver)
    assert refused.status_code == 422, refused.text
    assert refused.json()["fields"] == [
        {"field": "identifiers[1]", "detail": refused.json()["fields"][0]["detail"]}
    ]
    assert "R…" in refused.json()["fields"][0]["detail"]
    body["identifiers"] = [reference.lower()]
    made = http.post("/v1/watchlists", json=body, headers=approver)
    assert made.status_code == 201, made.text
    changes = f"/v1/watchlists/{made.json()['id']}/identifiers"
    added = http.post(changes, json={"add": [never.lower()]}, headers=approver)
    assert added.status_code == 422 and added.json()["fields"][0]["field"] == "add[0]", added.text
    # Taking one off is never refused: there is nothing to answer about it.
    assert http.post(changes, json={"remove": [never]}, headers=approver).status_code == 200
    watched = http.get(changes, headers=approver).json()["items"]
    assert [item["identifier"] for item in watched] == [reference]
