"""A request body that is no JSON is one kind of error, however it fails."""

import pytest


@pytest.mark.parametrize("body", [b"{{{", b"\xff\xfe", b"[" * 5000, b"[" * 200 + b"]" * 200])
def test_a_body_that_is_no_json_is_refused_as_a_validation_error(http, body):
    # However it fails to parse (broken, not UTF-8, nested past the parser's depth), the same answer.
    answer = http.post("/v1/public/objections", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422 and answer.json()["error"] == "validation_error"
