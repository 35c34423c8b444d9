"""Court listings follow the court's rules (法释〔2017〕7号), and red lists their own validity."""

import io

from pypdf import PdfReader

from tests.checks.helpers import approver, check
from tests.conftest import COURT, make_uscc, record_body


def _court_listing(n: int, **overrides):
    return record_body(n, domain="court_judgments", severity="general", **overrides)


def test_a_debtor_able_but_refusing_to_perform_stays_listed_until_performance(http, token_for, clock):
    court = token_for(COURT, "records:write", "records:read")
    headers = approver(token_for)
    answer = http.post(
        "/v1/records", json=_court_listing(1, listing_basis="refuses_despite_ability"), headers=court
    )
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["publicity_end"] is None and record["listing_basis"] == "refuses_despite_ability"
    clock("2032-06-01T10:00")  # five years on: a dated court listing would have ended long ago
    assert http.get(f"/v1/records/{record['id']}", headers=court).json()["status"] == "active"
    assert check(http, headers, 1, "high_consumption")["decision"] == "prohibit"


def test_the_other_grounds_carry_two_years_extendable_to_five(http, token_for):
    court = token_for(COURT, "records:write")
    default = http.post(
        "/v1/records", json=_court_listing(2, listing_basis="evades_enforcement"), headers=court
    ).json()
    assert default["publicity_end"] == "2028-11-18"
    extended = _court_listing(3, listing_basis="obstructs_enforcement", publicity_end="2031-11-18")
    assert http.post("/v1/records", json=extended, headers=court).status_code == 201
    too_long = _court_listing(4, listing_basis="obstructs_enforcement", publicity_end="2031-11-19")
    refused = http.post("/v1/records", json=too_long, headers=court)
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "publicity_end"


def test_a_listing_basis_belongs_to_court_listings_only(http, police):
    answer = http.post("/v1/records", json=record_body(5, listing_basis="evades_enforcement"), headers=police)
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "listing_basis"


def test_a_performed_debt_takes_the_listing_down_as_an_exit_not_a_revocation(http, token_for, clock):
    court = token_for(COURT, "records:write", "records:read")
    admin = token_for(COURT, "admin")
    headers = approver(token_for)
    clock("2026-11-22T10:00")  # a Sunday: three working days on is Wednesday
    record = http.post(
        "/v1/records", json=_court_listing(6, listing_basis="refuses_despite_ability"), headers=court
    ).json()
    answer = http.post(
        f"/v1/records/{record['id']}/exit",
        json={"reason": "obligations_performed", "decision_no": "（2026）鲁0402执恢12号"},
        headers=court,
    )
    assert answer.status_code == 200, answer.text
    exited = answer.json()
    assert exited["status"] == "exited" and exited["exit_reason"] == "obligations_performed"
    assert exited["exit_sync_by"] == "2026-11-25"
    assert check(http, headers, 6, "high_consumption")["decision"] == "clear"
    again = http.post(
        f"/v1/records/{record['id']}/exit", json={"reason": "settled", "decision_no": "x"}, headers=court
    )
    assert again.status_code == 409
    stats = http.get("/v1/stats", params={"from": "2026-11-01"}, headers=admin).json()
    (row,) = [r for r in stats["rows"] if r["domain"] == "court_judgments"]
    assert row["exited"]["exited"] == 1 and row["exited"]["revoked"] == 0


def test_exits_are_refused_outside_their_rules(http, token_for, police):
    court = token_for(COURT, "records:write")
    record = http.post("/v1/records", json=_court_listing(7), headers=court).json()
    reason = {"reason": "obligations_performed", "decision_no": "d"}
    assert http.post(f"/v1/records/{record['id']}/exit", json=reason, headers=police).status_code == 403
    odd = http.post(
        f"/v1/records/{record['id']}/exit", json={"reason": "paid_a_bribe", "decision_no": "d"}, headers=court
    )
    assert odd.status_code == 422 and odd.json()["fields"][0]["field"] == "reason"
    telecom = http.post("/v1/records", json=record_body(8), headers=police).json()
    refused = http.post(f"/v1/records/{telecom['id']}/exit", json=reason, headers=police)
    assert refused.status_code == 422 and "credit repair" in refused.json()["detail"]


def test_red_records_live_by_the_validity_their_agency_sets(http, police):
    four_years = record_body(9, list_type="red", severity="general", publicity_end="2030-11-18")
    answer = http.post("/v1/records", json=four_years, headers=police)
    assert answer.status_code == 201, answer.text  # a general black record: one year at most
    default = http.post(
        "/v1/records", json=record_body(10, list_type="red", severity="minor"), headers=police
    )
    assert default.json()["publicity_end"] == "2029-11-18"
    too_long = record_body(11, list_type="red", severity="general", publicity_end="2031-11-19")
    assert http.post("/v1/records", json=too_long, headers=police).status_code == 422
    assert make_uscc(9) == answer.json()["subject"]["identifier"]


def test_the_same_exit_sent_several_times_at_once_exits_once_and_tells_the_others_why(http, token_for):
    # Without If-Match, the losers are told the record has exited (409), not that they sent a stale
    # version (412): they sent none.
    import asyncio

    import httpx

    from app.main import app

    court = token_for(COURT, "records:write", "records:read")
    record = http.post("/v1/records", json=_court_listing(21), headers=court).json()
    body = {"reason": "obligations_performed", "decision_no": "（2026）执21号"}

    async def at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            path = f"/v1/records/{record['id']}/exit"
            sends = (client.post(path, json=body, headers=court) for _ in range(6))
            return list(await asyncio.gather(*sends))

    answers = asyncio.run(at_once())
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] + [409] * 5, [answer.text for answer in answers]
    assert http.get(f"/v1/records/{record['id']}", headers=court).json()["version"] == 2


def test_only_a_court_makes_a_court_listing(http, token_for):
    # The police, the central bank and the NDRC take part in the court_judgments action (they apply
    # its sanctions), but a court listing, with no notice, no end and persons published, is a court's.
    body = _court_listing(6, listing_basis="refuses_despite_ability")
    for agency in ("national.public_security", "national.peoples_bank", "national.development_reform"):
        headers = token_for(agency, "records:write")
        refused = http.post("/v1/records", json=body, headers=headers)
        assert refused.status_code == 403, (agency, refused.text)
        assert "法释〔2017〕7号" in refused.json()["detail"]
        batch = http.post("/v1/records/batch", json={"records": [body]}, headers=headers).json()
        assert batch["results"][0]["status"] == "error" and batch["created"] == 0
    court = token_for("zaozhuang.court", "records:write")
    assert http.post("/v1/records", json=body, headers=court).status_code == 201


def test_a_court_listing_publishes_its_ground_on_the_page_and_in_the_report(http, token_for):
    # 法释〔2017〕7号 第六条（四）: the dishonest conduct's specific circumstances are published.
    court = token_for(COURT, "records:write", "records:read")
    body = _court_listing(7, listing_basis="violates_consumption_order")
    assert http.post("/v1/records", json=body, headers=court).status_code == 201
    identifier = body["subject"]["identifier"]
    public = http.get(f"/v1/public/subjects/{identifier}").json()
    assert public["records"][0]["listing_basis"] == "violates_consumption_order"
    page = http.get(f"/subjects/{identifier}").text
    assert "失信情形" in page and "违反限制消费令" in page
    pdf = http.get(f"/v1/public/subjects/{identifier}/report.pdf").content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "违反限制消费令" in text.replace("\n", "")
    # A court listing is not repaired by the registry (第十条): the page sends the debtor to the court.
    assert f"/records/{public['records'][0]['id']}/repair" not in page and "向执行法院申请" in page


def test_a_court_listing_records_and_publishes_the_obligations_and_their_performance(http, token_for, police):
    # 法释〔2017〕7号 第六条（三）: the obligations the judgment sets and how far they are performed.
    court = token_for(COURT, "records:write", "records:read")
    told = "判决给付货款人民币120万元及利息；已履行30万元，余款未履行"
    body = _court_listing(8, listing_basis="refuses_despite_ability", performance=told)
    record = http.post("/v1/records", json=body, headers=court).json()
    assert record["performance"] == told
    identifier = body["subject"]["identifier"]
    assert http.get(f"/v1/public/subjects/{identifier}").json()["records"][0]["performance"] == told
    assert "义务及履行情况" in http.get(f"/subjects/{identifier}").text
    # The court updates it as the debtor performs; the history keeps what it said before.
    later = "判决给付货款人民币120万元及利息；已履行90万元，余款未履行"
    patched = http.patch(
        f"/v1/records/{record['id']}",
        json={"performance": later, "reason": "被执行人部分履行"},
        headers=court | {"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert http.get(f"/v1/public/subjects/{identifier}").json()["records"][0]["performance"] == later
    pdf = http.get(f"/v1/public/subjects/{identifier}/report.pdf").content
    assert "已履行90万元" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(
        "\n", ""
    )
    special = http.get(f"/v1/public/subjects/{identifier}/special-report.pdf").content
    special_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(special)).pages).replace("\n", "")
    assert "已履行90万元" in special_text and "有履行能力而拒不履行" in special_text
    history = http.get(f"/v1/records/{record['id']}/history", headers=court).json()
    assert history[-1]["details"]["changes"]["performance"] == [told, later]
    # Only a court listing records the performance of a judgment.
    other = http.post("/v1/records", json=record_body(9, performance="已履行"), headers=police)
    assert other.status_code == 422 and other.json()["fields"][0]["field"] == "performance"
