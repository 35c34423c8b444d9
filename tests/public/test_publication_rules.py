"""What the law lets the public see: natural persons only where a domain's rule publishes them, a red
record not while a black one is in force, a court listing without an end for as long as it stands."""

from datetime import date

from tests.conftest import COURT, make_resident_id, make_uscc, record_body

TODAY = "2026-11-20T10:00"


def _person(n: int, name: str, **overrides) -> dict:
    subject = {
        "kind": "natural_person",
        "name": name,
        "identifier_type": "resident_id",
        "identifier": make_resident_id(date(1980, 1, 1), n),
    }
    return record_body(n, subject=subject, decision_date="2026-11-18", **overrides)


def _found(http, name: str) -> list:
    return http.get("/v1/public/search", params={"q": name}).json()["items"]


def test_a_persons_record_is_published_only_where_the_domains_rule_says(http, police, token_for, clock):
    court = token_for(COURT, "records:write")
    admin = token_for("national.market_regulation", "admin")
    clock(TODAY)
    assert http.post("/v1/records", json=_person(1, "钱一"), headers=police).status_code == 201
    court_listing = _person(2, "孙二", domain="court_judgments", severity="general")
    assert http.post("/v1/records", json=court_listing, headers=court).status_code == 201
    assert _found(http, "钱一") == []  # telecom fraud: shared between agencies, not public
    (listed,) = _found(http, "孙二")  # court listings: public by law (法释〔2017〕7号 第七条)
    assert http.get(f"/v1/public/subjects/{listed['ref']}").status_code == 200
    url = "/v1/admin/domains/telecom_fraud/publication"
    rule = {"natural_persons": "public", "legal_basis": "依法公示"}
    try:
        assert http.put(url, json=rule, headers=admin).status_code == 200
        (person,) = _found(http, "钱一")
        assert http.get(f"/v1/public/subjects/{person['ref']}").status_code == 200
    finally:
        http.put(url, json={"natural_persons": "shared"}, headers=admin)
    assert _found(http, "钱一") == []


def test_a_red_record_is_not_published_while_a_black_record_is_in_force(http, police, clock):
    clock(TODAY)
    red = record_body(3, list_type="red", severity="general", decision_date="2026-11-18")
    assert http.post("/v1/records", json=red, headers=police).status_code == 201
    page = http.get(f"/v1/public/subjects/{make_uscc(3)}").json()
    assert page["red_count"] == 1 and page["black_count"] == 0
    black = record_body(4, subject={"identifier": make_uscc(3)}, decision_date="2026-11-18")
    assert http.post("/v1/records", json=black, headers=police).status_code == 201
    page = http.get(f"/v1/public/subjects/{make_uscc(3)}").json()
    assert page["red_count"] == 0 and page["black_count"] == 1
    assert [r["list_type"] for r in page["records"]] == ["black"]


def test_a_court_listing_without_an_end_stays_public_until_it_exits(http, token_for, clock):
    court = token_for(COURT, "records:write")
    clock(TODAY)
    body = record_body(
        5, domain="court_judgments", severity="general", listing_basis="refuses_despite_ability"
    )
    record = http.post("/v1/records", json=body, headers=court).json()
    clock("2031-06-01T10:00")
    page = http.get(f"/v1/public/subjects/{make_uscc(5)}")
    assert page.status_code == 200 and page.json()["records"][0]["publicity_end"] is None
    assert http.get(f"/v1/public/subjects/{make_uscc(5)}/report.pdf").status_code == 200
    exit_body = {"reason": "obligations_performed", "decision_no": "（2031）执1号"}
    assert http.post(f"/v1/records/{record['id']}/exit", json=exit_body, headers=court).status_code == 200
    assert http.get(f"/v1/public/subjects/{make_uscc(5)}").status_code == 404


def _with_people(n: int, **overrides) -> dict:
    """A company's listing naming its legal representative (a person) and its actual controller (a
    company)."""
    boss = {
        "kind": "natural_person",
        "name": "钱老板",
        "identifier_type": "resident_id",
        "identifier": make_resident_id(date(1975, 4, 9), 60 + n),
    }
    owner = {"kind": "legal_person", "name": f"控股集团有限公司{n}", "identifier_type": "uscc"}
    related = [
        {"role": "legal_representative", "subject": boss},
        {"role": "actual_controller", "subject": owner | {"identifier": make_uscc(900 + n)}},
    ]
    return record_body(n, decision_date="2026-11-18", related=related, **overrides)


def test_an_organisations_people_are_public_only_where_persons_are(http, police, token_for, clock):
    court = token_for(COURT, "records:write")
    clock(TODAY)
    listing = _with_people(21, domain="court_judgments", severity="general")
    assert http.post("/v1/records", json=listing, headers=court).status_code == 201
    body = http.get(f"/v1/public/subjects/{make_uscc(21)}").json()
    (record,) = body["records"]
    boss_id = make_resident_id(date(1975, 4, 9), 81)
    # Court listings publish the debtor's legal representative (法释〔2017〕7号 第六条), masked.
    assert record["related"] == [
        {
            "role": "actual_controller",
            "role_zh": "实际控制人",
            "name": "控股集团有限公司21",
            "kind": "legal_person",
            "identifier": make_uscc(921),
        },
        {
            "role": "legal_representative",
            "role_zh": "法定代表人",
            "name": "钱老板",
            "kind": "natural_person",
            "identifier": boss_id[:10] + "********",
        },
    ]
    page = http.get(f"/subjects/{body['subject']['ref']}")
    assert "法定代表人" in page.text and "钱老板" in page.text and boss_id[:10] + "********" in page.text
    assert boss_id not in page.text

    # Telecom fraud does not publish persons: the company's record shows its controller, not its boss.
    assert http.post("/v1/records", json=_with_people(22), headers=police).status_code == 201
    body = http.get(f"/v1/public/subjects/{make_uscc(22)}").json()
    (record,) = body["records"]
    assert [party["role"] for party in record["related"]] == ["actual_controller"]
    assert "钱老板" not in str(body) and make_resident_id(date(1975, 4, 9), 82)[:10] not in str(body)
