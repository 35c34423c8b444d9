"""Object-level authorization, generated from the route table: every closed route that names a record,
case, check or file is tried by another agency holding every agency scope, then by the owner.

The other agency gets 403 or 404 and changes nothing — except for reads the government shares
(a record and its history are readable by every agency with `records:read`). The owner's identical
request must succeed, which proves the refusal was about ownership and not a malformed request.
A new route with such a parameter fails here until it is given a request below.
"""

from typing import Any

import pytest
from fastapi.routing import APIRoute

from app.kit.routing import leaf_routes
from app.main import app
from tests.auth.test_matrix import _authenticated, _required_scopes
from tests.conftest import COURT, POLICE, record_body

OWNED_PARAMETERS = {"record_id", "case_id", "check_id", "file_id"}
AGENCY_SCOPES = ("records:write", "records:read", "checks:write", "cases:review")
SHARED_READS = {("GET", "/v1/records/{record_id}"), ("GET", "/v1/records/{record_id}/history")}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# (method, path) -> (json body, extra headers): a request the owner may make ({version}: the current one).
REQUESTS: dict[tuple[str, str], tuple[dict[str, Any] | None, dict[str, str]]] = {
    ("GET", "/v1/records/{record_id}"): (None, {}),
    ("PATCH", "/v1/records/{record_id}"): (
        {"conduct": "更正后的违法事实", "reason": "笔误更正"},
        {"If-Match": '"{version}"'},
    ),
    ("POST", "/v1/records/{record_id}/exit"): (
        {"reason": "obligations_performed", "decision_no": "（2026）执结1号"},
        {},
    ),
    ("POST", "/v1/records/{record_id}/revoke"): (
        {"reason": "原决定被撤销", "decision_no": "撤字〔2026〕1号"},
        {},
    ),
    ("GET", "/v1/records/{record_id}/history"): (None, {}),
    ("GET", "/v1/checks/{check_id}"): (None, {}),
    ("POST", "/v1/checks/{check_id}/feedback"): ({"outcome": "denied", "note": "不予许可"}, {}),
    ("GET", "/v1/cases/{case_id}"): (None, {}),
    ("GET", "/v1/cases/{case_id}/files/{file_id}"): (None, {}),
    ("POST", "/v1/cases/{case_id}/decision"): ({"outcome": "dismissed", "reason": "经核查记录无误"}, {}),
    ("GET", "/v1/records/{record_id}/repair-notice.json"): (None, {}),
    ("GET", "/v1/records/{record_id}/repair-notice.pdf"): (None, {}),
}


def _owned_routes() -> list[tuple[str, str]]:
    found = []
    for route in (r for r in leaf_routes(app.routes) if isinstance(r, APIRoute)):
        names = set(getattr(route, "param_convertors", {}))
        closed = _required_scopes(route) is not None or _authenticated(route)
        if names & OWNED_PARAMETERS and closed:
            found += [(method, route.path_format) for method in sorted(route.methods - {"HEAD", "OPTIONS"})]
    return found


OWNED = _owned_routes()


def test_every_owned_route_has_a_request_here():
    assert [route for route in OWNED if route not in REQUESTS] == []


def _objects(http, owner) -> dict[str, str]:
    """A record of the owner, an objection case on it with one file, and a check the owner made."""
    # A court listing: every owned route applies to it (an exit too: 法释〔2017〕7号).
    listing = record_body(1, domain="court_judgments", severity="general")
    record = http.post("/v1/records", json=listing, headers=owner)
    assert record.status_code == 201, record.text
    record_id = record.json()["id"]
    objection = {
        "record_id": record_id,
        "reason": "inaccurate",
        "statement": "金额有误",
        "contact": "13800000000",
    }
    case = http.post("/v1/public/objections", json=objection).json()
    upload = http.post(
        f"/v1/public/cases/{case['query_code']}/files", files={"file": ("proof.pdf", PDF, "application/pdf")}
    )
    assert upload.status_code == 201, upload.text
    check = http.post(
        "/v1/checks",
        json={"subject": {"identifier": record.json()["subject"]["identifier"]}, "action": "financing"},
        headers=owner,
    )
    assert check.status_code == 200, check.text
    return {
        "record_id": record_id,
        "case_id": case["id"],
        "file_id": upload.json()["id"],
        "check_id": check.json()["id"],
    }


@pytest.mark.parametrize(("method", "path"), OWNED, ids=[f"{m} {p}" for m, p in OWNED])
def test_another_agency_cannot_touch_what_it_does_not_own(http, token_for, method, path):
    owner = token_for(COURT, *AGENCY_SCOPES)
    stranger = token_for(POLICE, *AGENCY_SCOPES)
    objects = _objects(http, owner)
    url = path.format(**{name: objects[name] for name in OWNED_PARAMETERS if "{" + name + "}" in path})
    body, headers = REQUESTS[(method, path)]

    before = http.get(f"/v1/records/{objects['record_id']}", headers=owner).json()
    headers = {name: value.format(version=before["version"]) for name, value in headers.items()}
    answer = http.request(method, url, json=body, headers=stranger | headers)
    if (method, path) in SHARED_READS:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code in (403, 404), answer.text
        assert answer.json()["error"] in ("forbidden", "not_found")
    assert http.get(f"/v1/records/{objects['record_id']}", headers=owner).json() == before

    mine = http.request(method, url, json=body, headers=owner | headers)
    assert 200 <= mine.status_code < 300, mine.text
