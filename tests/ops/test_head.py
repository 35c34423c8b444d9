"""HEAD is answered wherever GET is, with GET's headers and no body (RFC 9110 §9.3.2)."""

import pytest

from tests.conftest import record_body


@pytest.mark.parametrize("path", ["/v1/public/ping", "/", "/v1/public/search?q=测试", "/openapi.json"])
def test_head_answers_as_get_without_a_body(http, path):
    got, head = http.get(path), http.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_private_or_missing_resource_tells_what_get_tells(http, police):
    record = http.post("/v1/records", json=record_body(1), headers=police).json()
    assert http.head(f"/v1/records/{record['id']}").status_code == 401
    assert http.head(f"/v1/records/{record['id']}", headers=police).status_code == 200
    assert http.head("/v1/no-such-thing").status_code == 404
    assert http.head("/v1/public/objections").status_code == 405  # POST only, GET refused alike
