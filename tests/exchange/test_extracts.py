"""The daily extracts (issue 16): applying every delta in order to an old full extract gives the new
full extract, byte for byte, across days on which records were listed, corrected, exited, revoked,
expired and repaired; the signed manifest verifies with the JWKS and its digests match the files;
restricted records are in none of them."""

import gzip
import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from app.db import session_scope
from app.exchange.extracts import Made, extracts_dir, make_extracts
from app.kit.signing import jwks_verifier
from app.records.expiry import sweep_expired
from tests.conftest import COURT, POLICE, record_body


def make(day: str) -> Made:
    with session_scope() as session:
        made = make_extracts(session, date.fromisoformat(day))
    assert made is not None and made.made_now
    return made


def ndjson(day: str, kind: str) -> bytes:
    return gzip.decompress((extracts_dir() / day / f"{kind}.ndjson.gz").read_bytes())


def canonical(value: dict) -> bytes:
    """The extract's canonical form, written independently of the registry's own serializer."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def apply_delta(full: bytes, delta: bytes) -> bytes:
    """What a receiving platform does: each line says what happened to one record."""
    records = {json.loads(line)["id"]: line for line in full.splitlines()}
    for line in delta.splitlines():
        change = json.loads(line)
        if change["change"] == "removed":
            assert change["id"] in records and "record" not in change
            del records[change["id"]]
            continue
        assert (change["id"] in records) == (change["change"] == "changed"), change
        assert change["record"]["id"] == change["id"]
        records[change["id"]] = canonical(change["record"])
    return b"".join(records[record_id] + b"\n" for record_id in sorted(records))


def changes(day: str) -> dict[str, str]:
    return {json.loads(line)["id"]: json.loads(line)["change"] for line in ndjson(day, "delta").splitlines()}


def push(http, headers, body) -> str:
    answer = http.post("/v1/records", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def correct(http, headers, record_id, **fields) -> None:
    version = http.get(f"/v1/records/{record_id}", headers=headers).json()["version"]
    answer = http.patch(f"/v1/records/{record_id}", json=fields, headers=headers | {"If-Match": str(version)})
    assert answer.status_code == 200, answer.text


def post_ok(http, path, body, headers=None) -> dict:
    answer = http.post(path, json=body, headers=headers or {})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_deltas_applied_in_order_rebuild_every_full_extract(http, police, token_for, clock):
    court = token_for(COURT, "records:write", "records:read")
    reviewer = token_for(POLICE, "cases:review")
    reader = token_for("zaozhuang.taxation", "records:read")

    clock("2026-05-29T10:00")
    decided = {"decision_date": "2026-05-28"}
    r1 = push(http, police, record_body(1, **decided))
    r2 = push(http, police, record_body(2, visibility="shared", **decided))
    r3 = push(http, police, record_body(3, visibility="restricted", **decided))
    court_listing = record_body(
        4, domain="court_judgments", severity="general", listing_basis="refuses_despite_ability", **decided
    )
    r4 = push(http, court, court_listing)
    r5 = push(http, police, record_body(5, severity="general", publicity_end="2026-08-28", **decided))
    r6 = push(http, police, record_body(6, severity="general", **decided))
    clock("2026-05-30T00:10")  # just after midnight: the 29th is over
    first = make("2026-05-29")
    assert [e.kind for e in first.extracts] == ["full"]  # nothing before it to differ from
    listed = {json.loads(line)["id"] for line in ndjson("2026-05-29", "full").splitlines()}
    assert listed == {r1, r2, r4, r5, r6}  # r3 is restricted: in no extract

    clock("2026-05-30T10:00")
    correct(http, police, r1, conduct="为电信网络诈骗提供技术支持（更正）", reason="事实表述有误")
    post_ok(
        http,
        f"/v1/records/{r4}/exit",
        {"reason": "obligations_performed", "decision_no": "（2026）执12号"},
        court,
    )
    post_ok(
        http, f"/v1/records/{r2}/revoke", {"reason": "原处罚决定被撤销", "decision_no": "撤字1号"}, police
    )
    r7 = push(http, police, record_body(7, decision_date="2026-05-29"))
    correct(http, police, r3, conduct="限定范围内的更正", reason="更正")  # restricted: not told
    clock("2026-05-31T00:05")
    make("2026-05-30")
    assert changes("2026-05-30") == {r1: "changed", r2: "removed", r4: "removed", r7: "added"}

    clock("2026-05-31T10:00")
    correct(http, police, r3, visibility="shared", reason="可共享")  # now for every reader: added
    correct(
        http, police, r7, decision_date="2026-05-27", reason="决定日期有误", correction_decision_no="更字2号"
    )
    clock("2026-06-01T00:05")
    make("2026-05-31")
    assert changes("2026-05-31") == {r3: "added", r7: "changed"}

    clock("2026-08-29T10:00")  # r5's publicity period ended yesterday
    with session_scope() as session:
        assert sweep_expired(session) == 1
    objection = {"record_id": r1, "reason": "inaccurate", "statement": "金额有误", "contact": "13800000000"}
    post_ok(http, "/v1/public/objections", objection)
    clock("2026-08-30T00:05")
    make("2026-08-29")
    assert changes("2026-08-29") == {r5: "removed", r1: "changed"}
    r1_line = next(line for line in ndjson("2026-08-29", "full").splitlines() if r1 in line.decode())
    assert json.loads(r1_line)["under_objection"] is True

    clock("2026-09-29T10:00")
    repair = {
        "record_id": r6,
        "applicant": {"name": "测试科技有限公司6", "contact": "0632-1234567"},
        "statement": "已全额缴纳罚款并完成整改",
        "commitment": True,
        "evidence": [{"kind": "fine_paid", "description": "罚款缴纳凭证"}],
    }
    case_id = post_ok(http, "/v1/public/repairs", repair)["id"]
    post_ok(http, f"/v1/cases/{case_id}/decision", {"outcome": "approved", "reason": "已履行"}, reviewer)
    clock("2026-09-30T00:05")
    make("2026-09-29")
    assert changes("2026-09-29") == {r6: "removed"}

    # The extract of the 10th made two days late, after r7 was corrected again and r1 revoked: it
    # still says how the 10th ended, but shares nothing revoked since (it leaves every sharing view
    # at once: the late extract removes it, and the 12th has nothing left to remove).
    clock("2026-10-10T10:00")
    correct(http, police, r7, conduct="第一次更正", reason="更正")
    clock("2026-10-12T10:00")
    correct(http, police, r7, conduct="第二次更正", reason="再次更正")
    post_ok(http, f"/v1/records/{r1}/revoke", {"reason": "撤销", "decision_no": "撤字3号"}, police)
    clock("2026-10-12T11:00")
    make("2026-10-10")
    late = {json.loads(line)["id"]: json.loads(line) for line in ndjson("2026-10-10", "full").splitlines()}
    assert set(late) == {r3, r7} and late[r7]["conduct"] == "第一次更正"
    assert changes("2026-10-10") == {r1: "removed", r7: "changed"}
    clock("2026-10-13T00:05")
    make("2026-10-12")
    assert changes("2026-10-12") == {r7: "changed"}
    assert {json.loads(line)["id"] for line in ndjson("2026-10-12", "full").splitlines()} == {r3, r7}

    days = ["2026-05-29", "2026-05-30", "2026-05-31", "2026-08-29", "2026-09-29", "2026-10-10", "2026-10-12"]
    for day in days:  # one record per line, canonical, in id order; none restricted
        lines = ndjson(day, "full").splitlines()
        records = [json.loads(line) for line in lines]
        assert lines == [canonical(record) for record in records]
        assert [r["id"] for r in records] == sorted(r["id"] for r in records)
        assert all(r["visibility"] in ("public", "shared") for r in records)
    rebuilt = ndjson(days[0], "full")
    for day in days[1:]:
        rebuilt = apply_delta(rebuilt, ndjson(day, "delta"))
        assert rebuilt == ndjson(day, "full"), day

    # What a receiving platform fetches verifies with the published keys alone.
    verify = jwks_verifier(http.get("/.well-known/jwks.json").json())
    listing = http.get("/v1/extracts", headers=reader).json()
    assert [(item["date"], item["kind"]) for item in listing[:3]] == [
        ("2026-10-12", "full"),
        ("2026-10-12", "delta"),
        ("2026-10-10", "full"),
    ]
    manifest = http.get("/v1/extracts/2026-10-12/manifest", headers=reader)
    assert manifest.status_code == 200 and manifest.headers["content-type"] == "application/jose"
    payload = verify(manifest.text)
    assert payload["date"] == "2026-10-12" and payload["typ"] == "registry.extracts.manifest"
    for entry in payload["files"]:
        served = http.get(f"/v1/extracts/2026-10-12/{entry['kind']}.ndjson.gz", headers=reader)
        assert served.status_code == 200 and served.headers["content-type"] == "application/gzip"
        assert (
            hashlib.sha256(served.content).hexdigest()
            == entry["sha256"]
            == served.headers["x-extract-sha256"]
        )
        assert hashlib.sha256(gzip.decompress(served.content)).hexdigest() == entry["ndjson_sha256"]
        assert len(gzip.decompress(served.content).splitlines()) == entry["count"]
    delta = next(entry for entry in payload["files"] if entry["kind"] == "delta")
    assert delta["previous"] == "2026-10-10" and (delta["removed"], delta["changed"], delta["added"]) == (
        0,
        1,
        0,
    )
    item = next(item for item in listing if item["kind"] == "delta")
    assert item["signature"] == manifest.text and item["url"] == "/v1/extracts/2026-10-12/delta.ndjson.gz"


def test_a_day_made_twice_makes_the_same_bytes(http, police, clock, no_extracts_left: Path):
    clock("2026-11-20T10:00")
    for n in range(1, 4):
        push(http, police, record_body(n))
    clock("2026-11-21T09:00")
    first = make("2026-11-20")
    written = (no_extracts_left / "2026-11-20" / "full.ndjson.gz").read_bytes()
    # The same day made again from scratch (as after a restore) gives the same file.
    with session_scope() as session:
        for row in first.extracts:
            session.delete(session.merge(row))
    again = make("2026-11-20")
    assert (no_extracts_left / "2026-11-20" / "full.ndjson.gz").read_bytes() == written
    assert again.extracts[0].sha256 == first.extracts[0].sha256 == hashlib.sha256(written).hexdigest()


@pytest.mark.parametrize("day", ["0", "20261122", "2026-13-01", "0001-01-01"])
def test_extract_days_are_strict_iso_dates(http, token_for, day):
    """Found by the fuzzer: `before=0` was read as a day and answered 200 with nothing."""
    reader = token_for("zaozhuang.taxation", "records:read")
    answer = http.get("/v1/extracts", params={"before": day}, headers=reader)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "before"
    assert http.get(f"/v1/extracts/{day}/manifest", headers=reader).status_code == 422


def test_an_extract_made_late_shares_nothing_withdrawn_from_sharing_meanwhile(http, police, token_for, clock):
    # Made days late (the server was down), the extract of the 19th still tells that day, but not a
    # listing revoked since (unlawful), ended by its agency, or narrowed to restricted: shared no more.
    court = token_for(COURT, "records:write")
    clock("2026-11-19T10:00")
    revoked, narrowed, kept = (push(http, police, record_body(n, visibility="shared")) for n in (1, 2, 3))
    listing = record_body(4, domain="court_judgments", severity="general", visibility="shared")
    ended = push(http, court, listing)
    clock("2026-11-21T10:00")
    post_ok(http, f"/v1/records/{revoked}/revoke", {"reason": "撤销", "decision_no": "撤字9号"}, police)
    performed = {"reason": "obligations_performed", "decision_no": "(2026)执恢1号"}
    post_ok(http, f"/v1/records/{ended}/exit", performed, court)
    correct(http, police, narrowed, visibility="restricted", reason="仅限特定范围")
    correct(http, police, kept, conduct="更正后的违法行为", reason="更正")
    make("2026-11-19")
    shared = {json.loads(line)["id"]: json.loads(line) for line in ndjson("2026-11-19", "full").splitlines()}
    assert set(shared) == {kept} and shared[kept]["conduct"] == record_body(3)["conduct"]
