"""Restricted records stay within their circle (国办发〔2020〕49号): other agencies learn neither their
ids from the change feed nor the names they carry from the government view."""

from tests.conftest import COURT, POLICE, make_uscc, record_body

CUSTOMS_READER = "national.market_regulation"
SECRET_NAME = "诈骗集团（已被通缉）有限公司"


def _feed(http, headers):
    answer = http.get("/v1/changes", params={"limit": 1000}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_the_change_feed_hides_another_agencys_restricted_records(http, police, token_for):
    reader = token_for(CUSTOMS_READER, "records:read")
    own_reader = token_for(POLICE, "records:read")
    admin = token_for(CUSTOMS_READER, "records:read", "admin")
    restricted = http.post("/v1/records", json=record_body(1, visibility="restricted"), headers=police).json()
    public = http.post("/v1/records", json=record_body(2), headers=police).json()
    others = _feed(http, reader)
    assert [item["record_id"] for item in others] == [public["id"]]
    assert {item["record_id"] for item in _feed(http, own_reader)} == {restricted["id"], public["id"]}
    assert {item["record_id"] for item in _feed(http, admin)} == {restricted["id"], public["id"]}

    # Made public, it appears; restricted again, the others are told once that it left their view.
    http.patch(
        f"/v1/records/{restricted['id']}",
        json={"visibility": "public", "reason": "依申请更正"},
        headers=police | {"If-Match": "1"},
    )
    http.patch(
        f"/v1/records/{restricted['id']}",
        json={"conduct": "更正", "reason": "依申请更正"},
        headers=police | {"If-Match": "2"},
    )
    http.patch(
        f"/v1/records/{restricted['id']}",
        json={"visibility": "restricted", "reason": "依申请更正"},
        headers=police | {"If-Match": "3"},
    )
    http.patch(
        f"/v1/records/{restricted['id']}",
        json={"conduct": "再次更正，仍受限", "reason": "依申请更正"},
        headers=police | {"If-Match": "4"},
    )
    events = [item["event"] for item in _feed(http, reader) if item["record_id"] == restricted["id"]]
    assert events == ["record.updated", "record.updated", "record.withdrawn"]


def test_the_government_view_shows_no_name_only_a_restricted_record_carries(http, token_for):
    court = token_for(COURT, "records:write")
    police = token_for(POLICE, "records:write")
    reader = token_for(CUSTOMS_READER, "records:read")
    identifier = make_uscc(7)
    listed = record_body(
        7, domain="court_judgments", severity="general", subject={"name": "枣庄市鑫达通讯器材有限公司"}
    )
    assert http.post("/v1/records", json=listed, headers=court).status_code == 201
    secret = record_body(8, visibility="restricted", subject={"name": SECRET_NAME, "identifier": identifier})
    assert http.post("/v1/records", json=secret, headers=police).status_code == 201

    view = http.get(f"/v1/subjects/{identifier}", headers=reader).json()
    assert view["subject"]["name"] == "枣庄市鑫达通讯器材有限公司"
    assert SECRET_NAME not in view["names"] and len(view["records"]) == 1
    own = http.get(f"/v1/subjects/{identifier}", headers=token_for(POLICE, "records:read")).json()
    assert SECRET_NAME in own["names"] and len(own["records"]) == 2


def test_a_subject_known_only_through_another_agencys_restricted_record_is_not_found(http, police, token_for):
    reader = token_for(CUSTOMS_READER, "records:read")
    body = record_body(9, visibility="restricted", subject={"name": SECRET_NAME})
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    answer = http.get(f"/v1/subjects/{make_uscc(9)}", headers=reader)
    assert answer.status_code == 404 and SECRET_NAME not in answer.text
    assert answer.json() == http.get(f"/v1/subjects/{make_uscc(10)}", headers=reader).json() | {
        "detail": answer.json()["detail"]
    }
