"""The OpenAPI document against the live answers: every operation it lists is called with valid input
(and some with bad input), and each answer's status, media type and body must be the ones the document
declares for that operation, $refs resolved and formats (date, date-time, uuid) checked.

On PostgreSQL the check (POST /v1/checks) and the public lookup answer from their fast paths, which
write their JSON themselves: this is where a body can drift from its declared schema unseen. A route
added to the app and not called here fails `test_every_operation_answers_as_documented`: add it.
"""

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from app.auth.scopes import Scope
from app.auth.service import create_client
from app.db import session_scope
from tests.conftest import COURT, POLICE, make_uscc, record_body
from tests.monitoring.helpers import make_alerts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
METHODS = ("get", "put", "post", "delete", "patch")


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _declares_a_body(schema: dict[str, Any]) -> bool:
    """A schema that says something: not {} nor a title alone (what FastAPI writes when it cannot tell)."""
    return any(key in schema for key in ("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"))


def _closed(schema: Any) -> Any:
    """A copy of the schema in which every object with declared properties allows no others."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if isinstance(schema.get("properties"), dict) and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


class Contract:
    """Calls operations by their document template and holds each answer to what the document says."""

    def __init__(self, http: Any, document: dict[str, Any]) -> None:
        self.http = http
        self.document = document
        self.components = document.get("components", {})
        self.covered: set[tuple[str, str]] = set()
        self.validators: dict[str, Any] = {}

    def operations(self) -> set[tuple[str, str]]:
        return {
            (method, path)
            for path, item in self.document["paths"].items()
            for method in item
            if method in METHODS
        }

    def call(
        self, method: str, template: str, expect: int, path: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        operation = self.document["paths"].get(template, {}).get(method)
        assert operation is not None, f"{method.upper()} {template} is not in the document"
        response = self.http.request(method.upper(), template.format(**(path or {})), **kwargs)
        where = f"{method.upper()} {template} -> {response.status_code}"
        assert response.status_code == expect, f"{where}, expected {expect}: {response.text[:500]}"
        problems = self.problems(operation, response)
        assert not problems, f"{where} breaks the document: {problems}"
        self.covered.add((method, template))
        return response

    def problems(self, operation: dict[str, Any], response: httpx.Response) -> list[str]:
        status = response.status_code
        responses = operation["responses"]
        declared = (
            responses.get(str(status)) or responses.get(f"{status // 100}XX") or responses.get("default")
        )
        if declared is None:
            return [f"status {status} is not declared (declared: {sorted(responses)})"]
        content = declared.get("content")
        if not content:
            return [] if not response.content else [f"a body where none is declared: {response.text[:200]}"]
        media_type = _media_type(response.headers.get("content-type", ""))
        if media_type not in content:
            return [f"media type {media_type!r} is not declared (declared: {sorted(content)})"]
        problems = [
            f"header {name} is declared and missing"
            for name in declared.get("headers", {})
            if name.lower() not in response.headers
        ]
        schema = content[media_type].get("schema", {})
        if not _is_json(media_type):
            if not response.content:
                problems.append(f"an empty {media_type} body")
            return problems
        try:
            body = response.json()
        except ValueError:
            return [*problems, f"not JSON: {response.text[:200]}"]
        errors = [
            f"{error.instance_path}: {error.message}" for error in self._validator(schema).iter_errors(body)
        ]
        return problems + errors[:10]

    def _validator(self, schema: dict[str, Any]) -> Any:
        key = repr(schema)
        if key not in self.validators:
            # The schema under the document's components, so that "#/components/schemas/X" resolves;
            # an answer's object may hold no field its schema leaves out (a client generated from
            # the document would not know it).
            rooted = _closed({"allOf": [schema], "components": self.components})
            self.validators[key] = jsonschema_rs.Draft202012Validator(rooted, validate_formats=True)
        return self.validators[key]


@pytest.fixture
def contract(http):
    document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1"), "the schemas are read as JSON Schema 2020-12"
    return Contract(http, document)


@pytest.fixture
def everything(token_for):
    """A client of the police (lead unit of telecom fraud, designating the records below) with every scope."""
    return token_for(POLICE, *[scope.value for scope in Scope])


def test_the_document_declares_a_real_body_for_every_success(contract):
    """No operation may answer 2xx with a body the document leaves blank or calls a bare string."""
    blank = []
    for method, path in sorted(contract.operations()):
        responses = contract.document["paths"][path][method]["responses"]
        successes = {status: r for status, r in responses.items() if status.startswith("2")}
        if not successes:
            blank.append(f"{method.upper()} {path}: no 2xx declared")
        for status, response in successes.items():
            for media_type, body in (response.get("content") or {None: {}}).items():
                schema = body.get("schema", {})
                if media_type is None or not _declares_a_body(schema):
                    blank.append(f"{method.upper()} {path} {status} {media_type}: no body schema")
                elif _is_json(media_type) and schema.get("type") == "string":
                    blank.append(f"{method.upper()} {path} {status} {media_type}: JSON declared a string")
                elif not _is_json(media_type) and schema.get("type") != "string":
                    blank.append(f"{method.upper()} {path} {status} {media_type}: bytes not a string")
    assert blank == []


def test_every_parameter_of_a_path_is_declared_as_one(contract):
    """A client generated from the document fills in a path's {names}: each must be declared (routes
    that read their own parameters declare them by hand, as app.public.router's lookup)."""
    undeclared = []
    for method, path in sorted(contract.operations()):
        operation = contract.document["paths"][path][method]
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        named = set(re.findall(r"{([^}]+)}", path))
        if declared != named:
            undeclared.append(f"{method.upper()} {path}: declares {sorted(declared)}")
    assert undeclared == []


def test_every_operation_answers_as_documented(contract, everything, token_for):
    call: Callable[..., httpx.Response] = contract.call
    token = everything
    # On PostgreSQL checks and the public lookup answer on the event loop, over the app's async pool.
    print(f"event-loop transport: {contract.http.app.state.read_pool is not None}")

    # Operations and auth
    call("get", "/healthz", 200)
    call("get", "/readyz", 200)
    call("get", "/.well-known/jwks.json", 200)
    with session_scope() as session:
        client = create_client(session, agency_code=POLICE, scopes=["records:read"], actor="test")
    form = {"grant_type": "client_credentials", "client_id": client.client_id}
    call("post", "/v1/auth/token", 200, data=form | {"client_secret": client.client_secret})
    call("post", "/v1/auth/token", 401, data=form | {"client_secret": "wrong"})
    call("post", "/v1/auth/token", 400, data=form | {"client_secret": "x", "grant_type": "password"})
    reader = {
        "Authorization": "Bearer "
        + call("post", "/v1/auth/token", 200, data=form | {"client_secret": client.client_secret}).json()[
            "access_token"
        ]
    }

    # Catalog and administration
    call("get", "/v1/domains", 200)
    call("get", "/v1/domains/{code}", 200, {"code": "telecom_fraud"})
    call("get", "/v1/domains/{code}", 404, {"code": "nowhere"})
    call("get", "/v1/agencies", 200)
    day = {"date": "2026-12-26", "workday": True, "note": "调休上班"}
    call("post", "/v1/admin/holidays", 201, json=day, headers=token)
    call("post", "/v1/admin/holidays", 422, json=day | {"date": 0}, headers=token)
    call("get", "/v1/admin/holidays", 200, headers=token)
    call("get", "/v1/admin/holidays", 401)
    call("get", "/v1/admin/holidays", 403, headers=reader)
    call("get", "/v1/measures", 200)
    measure = {
        "code": "restrict_tour_licence",
        "name_zh": "限制旅行社业务经营许可",
        "kind": "punishment",
        "actions": ["administrative_license"],
        "legal_basis": "《旅行社条例》第二十八条",
        "implementing_agency": "文化和旅游部门",
    }
    call("post", "/v1/admin/measures", 201, json=measure, headers=token)
    call("post", "/v1/admin/measures", 409, json=measure, headers=token)
    rule = {
        "domain": "low_price_tours",
        "list_type": "black",
        "min_severity": "serious",
        "measure": "restrict_tour_licence",
        "effect": "restrict",
        "effective_from": "2026-12-01",
        "legal_basis": "《旅行社条例》第二十八条",
    }
    created = call("post", "/v1/admin/rules", 201, json=rule, headers=token).json()
    call("put", "/v1/admin/rules/{rule_id}", 200, {"rule_id": created["id"]}, json=rule, headers=token)
    call("get", "/v1/rules/{rule_id}/versions", 200, {"rule_id": created["id"]}, headers=token)
    call("delete", "/v1/admin/rules/{rule_id}", 200, {"rule_id": created["id"]}, headers=token)
    call("get", "/v1/rules", 200, params={"domain": "telecom_fraud", "as_of": "2026-11-22"}, headers=token)
    call("get", "/v1/rules", 422, params={"as_of": "9999-12-31"}, headers=token)
    call("get", "/v1/admin/publicity", 200, headers=token)
    periods = {"shortest_months": 3, "default_months": 12, "longest_months": 24, "repair_after_months": 3}
    where = {"domain": "tax_fraud", "severity": "general"}
    call("put", "/v1/admin/publicity/{domain}/{severity}", 200, where, json=periods, headers=token)
    call("delete", "/v1/admin/publicity/{domain}/{severity}", 200, where, headers=token)

    # Records
    listed = call("post", "/v1/records", 201, json=record_body(1), headers=token).json()
    call("post", "/v1/records", 200, json=record_body(1), headers=token)
    call("post", "/v1/records", 409, json=record_body(1, conduct="另一行为"), headers=token)
    call("post", "/v1/records", 401, json=record_body(1))
    # Decided in June: three months on, its subject may apply for repair.
    repairable = call(
        "post",
        "/v1/records",
        201,
        json=record_body(2, severity="general", decision_date="2026-06-01"),
        headers=token,
    ).json()
    batch = {"records": [record_body(3), record_body(4, decision_date="not a day")]}
    results = call("post", "/v1/records/batch", 200, json=batch, headers=token).json()["results"]
    assert [r["status"] for r in results] == ["created", "error"]
    record = {"record_id": listed["id"]}
    call("get", "/v1/records", 200, params={"status": "active"}, headers=token)
    call("get", "/v1/records/{record_id}", 200, record, headers=token)
    call(
        "get",
        "/v1/records/{record_id}",
        404,
        {"record_id": "00000000-0000-4000-8000-000000000000"},
        headers=token,
    )
    patch = {"conduct": "为电信网络诈骗提供支付结算和推广帮助", "reason": "补正违法事实"}
    call("patch", "/v1/records/{record_id}", 428, record, json=patch, headers=token)
    call("patch", "/v1/records/{record_id}", 200, record, json=patch, headers=token | {"If-Match": '"1"'})
    call("patch", "/v1/records/{record_id}", 412, record, json=patch, headers=token | {"If-Match": '"1"'})
    revoked = {"record_id": results[0]["id"]}
    revoke = {"reason": "处罚决定已被撤销", "decision_no": "公撤字〔2026〕1号"}
    call("post", "/v1/records/{record_id}/revoke", 200, revoked, json=revoke, headers=token)
    call("get", "/v1/records/{record_id}/history", 200, record, headers=token)
    subject = {"identifier": make_uscc(1)}
    call("get", "/v1/subjects/{identifier}", 200, subject, headers=token)
    call("get", "/v1/subjects/{identifier}", 200, subject, params={"as_of": "2026-11-20"}, headers=token)
    call("get", "/v1/subjects/{identifier}", 422, subject, params={"as_of": "2099-01-01"}, headers=token)
    call("get", "/v1/changes", 200, params={"after": "0", "limit": 5}, headers=token)

    # Checks: a listed company and one never listed, alone and in a batch
    listed_check = {"subject": {"identifier": make_uscc(1)}, "action": "financing", "reference": "贷-1"}
    answer = call("post", "/v1/checks", 200, json=listed_check, headers=token).json()
    assert answer["found"] is True and answer["decision"] != "clear"
    clear = {"subject": {"identifier": make_uscc(99)}, "action": "honors"}
    assert call("post", "/v1/checks", 200, json=clear, headers=token).json()["found"] is False
    call("post", "/v1/checks", 401, json=clear)
    call("post", "/v1/checks", 422, json=clear | {"action": "teleport"}, headers=token)
    as_of = listed_check | {"as_of": "2026-11-21"}  # the general path, on either database
    call("post", "/v1/checks", 200, json=as_of, headers=token)
    items = {"items": [listed_check, clear, as_of]}
    assert len(call("post", "/v1/checks/batch", 200, json=items, headers=token).json()["results"]) == 3
    check = {"check_id": answer["id"]}
    call("get", "/v1/checks", 200, params={"from": "2026-11-01", "to": "2026-11-30"}, headers=token)
    call("get", "/v1/checks/{check_id}", 200, check, headers=token)
    call("post", "/v1/checks/{check_id}/feedback", 200, check, json={"outcome": "denied"}, headers=token)
    call("post", "/v1/checks/{check_id}/feedback", 409, check, json={"outcome": "denied"}, headers=token)

    # Screening by name: a listed company found, logged and read back; a one-character name refused
    screened = call("post", "/v1/screen", 200, json={"name": "测试科技有限公司1"}, headers=token).json()
    assert screened["candidates"][0]["subject"]["identifier"] == make_uscc(1)
    call("post", "/v1/screen", 422, json={"name": "测"}, headers=token)
    call("post", "/v1/screen", 401, json={"name": "测试科技"})
    call("get", "/v1/screenings/{screening_id}", 200, {"screening_id": screened["id"]}, headers=token)
    call("get", "/v1/screenings", 200, params={"limit": 5}, headers=token)
    call("get", "/v1/screenings/{screening_id}", 404, {"screening_id": str(uuid.uuid4())}, headers=token)

    # Merging two subjects found to be one, and undoing it
    invented = record_body(
        77, subject={"kind": "legal_person", "identifier_type": "other", "identifier": "TMP-77"}
    )
    assert contract.http.post("/v1/records", json=invented, headers=token).status_code == 201
    merging = {"from": "TMP-77", "into": make_uscc(1), "reason": "同一企业"}
    merged = call("post", "/v1/admin/subjects/merge", 200, json=merging, headers=token).json()
    call("post", "/v1/admin/subjects/merge", 422, json=merging | {"from": make_uscc(1)}, headers=token)
    call("post", "/v1/admin/subjects/merge", 409, json=merging, headers=token)
    call("post", "/v1/admin/subjects/merge", 404, json=merging | {"from": "NOPE"}, headers=token)
    call("post", "/v1/admin/merges/{merge_id}/undo", 200, {"merge_id": merged["id"]}, headers=token)
    call("post", "/v1/admin/merges/{merge_id}/undo", 409, {"merge_id": merged["id"]}, headers=token)
    call("post", "/v1/admin/merges/{merge_id}/undo", 404, {"merge_id": str(uuid.uuid4())}, headers=token)

    # Cases: a repair with a file, an objection; their progress; the agency decides
    repair = {
        "record_id": repairable["id"],
        "applicant": {"name": "测试科技有限公司2", "contact": "0632-1234567"},
        "statement": "已全额缴纳罚款并完成整改",
        "commitment": True,
        "evidence": [{"kind": "fine_paid", "description": "罚款缴纳凭证"}],
    }
    opened = call("post", "/v1/public/repairs", 201, json=repair).json()
    objection = {"record_id": listed["id"], "reason": "inaccurate", "statement": "金额有误", "contact": "138"}
    disputed = call("post", "/v1/public/objections", 201, json=objection).json()
    code = {"query_code": opened["query_code"]}
    call("get", "/v1/public/repairs/{query_code}", 200, code)
    call("get", "/v1/public/objections/{query_code}", 200, {"query_code": disputed["query_code"]})
    call("get", "/v1/public/objections/{query_code}", 404, {"query_code": "NOSUCHCODE"})
    upload = "/v1/public/cases/{query_code}/files"
    stored = call("post", upload, 201, code, files={"file": ("receipt.png", PNG, "image/png")}).json()
    call("post", upload, 415, code, files={"file": ("x.pdf", b"#!/bin/sh", "application/pdf")})
    case = {"case_id": opened["id"]}
    call("get", "/v1/cases", 200, params={"kind": "repair"}, headers=token)
    call("get", "/v1/admin/cases", 200, params={"overdue": "false"}, headers=token)
    call("get", "/v1/cases/{case_id}", 200, case, headers=token)
    evidence = call(
        "get", "/v1/cases/{case_id}/files/{file_id}", 200, case | {"file_id": stored["id"]}, headers=token
    )
    assert evidence.content == PNG
    decision = {"outcome": "approved", "reason": "已履行义务"}
    call("post", "/v1/cases/{case_id}/decision", 200, case, json=decision, headers=token)
    call("post", "/v1/cases/{case_id}/decision", 409, case, json=decision, headers=token)
    call("get", "/v1/public/repairs/{query_code}/decision.json", 200, code)
    call("get", "/v1/public/repairs/{query_code}/decision.pdf", 200, code)
    disputed_code = {"query_code": disputed["query_code"]}
    call("get", "/v1/public/objections/{query_code}/decision.json", 404, disputed_code)
    dismissed = {"outcome": "dismissed", "reason": "经核查记录无误"}
    call(
        "post",
        "/v1/cases/{case_id}/decision",
        200,
        {"case_id": disputed["id"]},
        json=dismissed,
        headers=token,
    )
    call("get", "/v1/public/objections/{query_code}/decision.json", 200, disputed_code)
    call("get", "/v1/public/objections/{query_code}/decision.pdf", 200, disputed_code)
    # A rejected repair appealed to the credit office (its admin decides)
    second = record_body(5, severity="general", decision_date="2026-06-01")
    rejected_record = call("post", "/v1/records", 201, json=second, headers=token).json()
    refused = call(
        "post", "/v1/public/repairs", 201, json=repair | {"record_id": rejected_record["id"]}
    ).json()
    rejection = {"outcome": "rejected", "reason": "尚未完成整改"}
    call(
        "post", "/v1/cases/{case_id}/decision", 200, {"case_id": refused["id"]}, json=rejection, headers=token
    )
    refused_code = {"query_code": refused["query_code"]}
    appeal = {"statement": "已完成整改，请复核", "contact": "0632-1234567"}
    appealed = call("post", "/v1/public/repairs/{query_code}/appeal", 201, refused_code, json=appeal).json()
    call("post", "/v1/public/repairs/{query_code}/appeal", 409, refused_code, json=appeal)
    call("get", "/v1/public/repairs/{query_code}/appeal/decision.json", 404, refused_code)
    office = token_for("national.credit_office", "admin")
    upheld = {"outcome": "upheld", "reason": "整改属实"}
    call(
        "post", "/v1/cases/{case_id}/decision", 200, {"case_id": appealed["id"]}, json=upheld, headers=office
    )
    call("get", "/v1/public/repairs/{query_code}/appeal/decision.json", 200, refused_code)
    call("get", "/v1/public/repairs/{query_code}/appeal/decision.pdf", 200, refused_code)

    # Public query: search, the entity, its reports and their verification
    found = call("get", "/v1/public/search", 200, params={"q": "测试科技"}).json()
    assert found["items"]
    public = {"key": make_uscc(1)}
    call("get", "/v1/public/subjects/{key}", 200, public)
    call("get", "/v1/public/subjects/{key}", 404, {"key": make_uscc(98)})
    pdf = call("get", "/v1/public/subjects/{key}/report.pdf", 200, public)
    document = call("get", "/v1/public/subjects/{key}/report.json", 200, public)
    report = {"report_id": document.json()["report_id"]}
    call("get", "/v1/public/reports/{report_id}", 200, report, params={"sha256": document.json()["sha256"]})
    verify = "/v1/public/reports/{report_id}/verify"
    sent = call(
        "post", verify, 200, report, content=document.content, headers={"Content-Type": "application/json"}
    )
    assert sent.json()["valid"] is True
    pdf_report = {"report_id": pdf.headers["X-Report-Id"]}
    call("post", verify, 200, pdf_report, content=pdf.content, headers={"Content-Type": "application/pdf"})
    call("post", verify, 422, pdf_report, content=b"", headers={"Content-Type": "application/pdf"})
    twice = document.content[:-1] + b',"black_count":0}'
    refused = call("post", verify, 200, report, content=twice, headers={"Content-Type": "application/json"})
    assert refused.json()["reason"] == "duplicate_keys"
    special = "/v1/public/subjects/{key}/special-report.pdf"
    clean = call("get", special, 200, {"key": make_uscc(97)}, params={"domains": "telecom_fraud", "years": 5})
    call("post", verify, 200, {"report_id": clean.headers["X-Report-Id"]}, content=clean.content)
    call("get", special, 422, {"key": "not-a-code"})

    # Statistics and the audit log
    call("get", "/v1/stats", 200, headers=token)
    csv = call("get", "/v1/stats", 200, params={"format": "csv"}, headers=token)
    assert csv.content.decode("utf-8-sig").startswith("domain,agency")
    call("get", "/v1/admin/audit", 200, params={"limit": 10}, headers=token)
    call("get", "/v1/admin/audit/verify", 200, headers=token)

    # The second release: court listings' exits, oversight, audit anchors, coverage, the calendar,
    # the publication of persons
    court = token_for(COURT, "records:write")
    listing = record_body(
        70, domain="court_judgments", severity="general", listing_basis="refuses_despite_ability"
    )
    court_record = {"record_id": call("post", "/v1/records", 201, json=listing, headers=court).json()["id"]}
    performed = {"reason": "settled", "decision_no": "（2026）鲁0402执1号"}
    call("post", "/v1/records/{record_id}/exit", 200, court_record, json=performed, headers=court)
    call("post", "/v1/records/{record_id}/exit", 409, court_record, json=performed, headers=court)
    call("post", "/v1/records/{record_id}/exit", 422, record, json=performed, headers=token)
    call("get", "/v1/admin/access-log", 200, params={"limit": 5}, headers=token)
    checkpoint = call("get", "/v1/admin/audit/checkpoint", 200, headers=token).json()["checkpoint"]
    call("post", "/v1/admin/audit/verify", 200, json={"checkpoints": [checkpoint]}, headers=token)
    call("post", "/v1/admin/audit/verify", 422, json={"checkpoints": ["a.b.c"]}, headers=token)
    call("get", "/v1/admin/rules/coverage", 200, headers=token)
    call("get", "/v1/calendar", 200)
    schedule = (Path(__file__).parents[2] / "docs" / "calendar-2027.example.csv").read_text()
    call("post", "/v1/admin/calendar", 201, json={"content": schedule}, headers=token)
    call(
        "post",
        "/v1/admin/calendar",
        422,
        json={"content": "date,workday,note\nnot-a-day,true,x"},
        headers=token,
    )
    publication = {"code": "wage_arrears"}
    shared = {"natural_persons": "shared"}
    call("put", "/v1/admin/domains/{code}/publication", 200, publication, json=shared, headers=token)
    unfounded = {"natural_persons": "public"}
    call("put", "/v1/admin/domains/{code}/publication", 422, publication, json=unfounded, headers=token)

    # Due process: a notice before listing, the subject's statement, the agency finalizes or withdraws;
    # the repair notice served with a listing
    notice_body = record_body(71)
    notice_body.pop("notice")
    notified = call("post", "/v1/notices", 201, json=notice_body, headers=token).json()
    notice = {"notice_id": notified["id"]}
    notice_code = {"query_code": notified["query_code"]}
    call("get", "/v1/notices", 200, headers=token)
    call("get", "/v1/notices/{notice_id}", 200, notice, headers=token)
    call("get", "/v1/public/notices/{query_code}", 200, notice_code)
    statement = {"statement": "已缴清罚款", "contact": "13800000000"}
    call("post", "/v1/public/notices/{query_code}/statement", 201, notice_code, json=statement)
    call("post", "/v1/public/notices/{query_code}/statement", 409, notice_code, json=statement)
    considered = {"considered": "经核查不影响认定"}
    call("post", "/v1/notices/{notice_id}/finalize", 422, notice, json={}, headers=token)
    call("post", "/v1/notices/{notice_id}/finalize", 201, notice, json=considered, headers=token)
    other_body = record_body(72)
    other_body.pop("notice")
    withdrawn = {"notice_id": call("post", "/v1/notices", 201, json=other_body, headers=token).json()["id"]}
    call(
        "post", "/v1/notices/{notice_id}/withdraw", 200, withdrawn, json={"reason": "不予列入"}, headers=token
    )
    call("post", "/v1/notices/{notice_id}/finalize", 409, withdrawn, json=considered, headers=token)
    call("get", "/v1/records/{record_id}/repair-notice.json", 200, record, headers=token)
    call("get", "/v1/records/{record_id}/repair-notice.pdf", 200, record, headers=token)

    # Daily extracts for other platforms (made here by hand for yesterday)
    from app.exchange.extracts import make_extracts
    from app.kit.clock import china_today

    yesterday = china_today() - timedelta(days=1)
    with session_scope() as session:
        make_extracts(session, yesterday, wait=True)
    day = {"day": yesterday.isoformat()}
    call("get", "/v1/extracts", 200, headers=token)
    call("get", "/v1/extracts/{day}/{kind}.ndjson.gz", 200, day | {"kind": "full"}, headers=token)
    call("get", "/v1/extracts/{day}/manifest", 200, day, headers=token)
    call("get", "/v1/extracts/{day}/manifest", 404, {"day": "2026-01-01"}, headers=token)

    # Monitoring: a watchlist, its alerts and webhook deliveries (a receiver that is not there)
    watched = {
        "name": "许可审批关注",
        "action": "administrative_license",
        "identifiers": [make_uscc(50)],
        "callback_url": "http://127.0.0.1:9/hook",
        "secret": "s" * 32,
    }
    watchlist = call("post", "/v1/watchlists", 201, json=watched, headers=token).json()
    call("post", "/v1/watchlists", 422, json=watched | {"identifiers": ["91110000000000000X"]}, headers=token)
    call(
        "post",
        "/v1/watchlists",
        422,
        json=watched | {"callback_url": "http://169.254.169.254/"},
        headers=token,
    )
    call("post", "/v1/watchlists", 403, json=watched, headers=reader)
    listing = {"watchlist_id": watchlist["id"]}
    nowhere = {"watchlist_id": "00000000-0000-4000-8000-000000000000"}
    changes = {"add": [make_uscc(51)], "remove": []}
    call("post", "/v1/watchlists/{watchlist_id}/identifiers", 200, listing, json=changes, headers=token)
    call("post", "/v1/watchlists/{watchlist_id}/identifiers", 404, nowhere, json=changes, headers=token)
    call("post", "/v1/records", 201, json=record_body(50), headers=token)
    make_alerts()  # the delivery worker's first step after the push's commit
    call("get", "/v1/watchlists/{watchlist_id}", 200, listing, headers=token)
    assert [w["id"] for w in call("get", "/v1/watchlists", 200, headers=token).json()] == [watchlist["id"]]
    call("get", "/v1/watchlists/{watchlist_id}", 404, nowhere, headers=token)
    page = call("get", "/v1/watchlists/{watchlist_id}/identifiers", 200, listing, headers=token).json()
    assert len(page["items"]) == watchlist["identifier_count"] + 1 and page["next"] is None
    call("get", "/v1/watchlists/{watchlist_id}/identifiers", 404, nowhere, headers=token)
    alerted = call("get", "/v1/watchlists/{watchlist_id}/alerts", 200, listing, headers=token).json()
    assert [alert["identifier"] for alert in alerted["items"]] == [make_uscc(50)]
    call("get", "/v1/watchlists/{watchlist_id}/alerts", 404, nowhere, headers=token)
    sent = call("get", "/v1/watchlists/{watchlist_id}/deliveries", 200, listing, headers=token).json()
    assert [delivery["status"] for delivery in sent["items"]] == ["pending"]
    call("get", "/v1/watchlists/{watchlist_id}/deliveries", 404, nowhere, headers=token)
    call("delete", "/v1/watchlists/{watchlist_id}", 200, listing, headers=token)
    call("delete", "/v1/watchlists/{watchlist_id}", 404, listing, headers=token)
    subscribing = {"callback_url": "http://127.0.0.1:9/changes", "secret": "s" * 32}
    subscription = call("post", "/v1/subscriptions", 201, json=subscribing, headers=token).json()
    call("post", "/v1/subscriptions", 422, json=subscribing | {"callback_url": "gopher://x/"}, headers=token)
    call("post", "/v1/subscriptions", 401, json=subscribing)
    subscribed = {"subscription_id": subscription["id"]}
    call("get", "/v1/subscriptions/{subscription_id}", 200, subscribed, headers=token)
    call(
        "get",
        "/v1/subscriptions/{subscription_id}",
        404,
        nowhere | {"subscription_id": nowhere["watchlist_id"]},
        headers=token,
    )
    call("delete", "/v1/subscriptions/{subscription_id}", 200, subscribed, headers=token)
    call("delete", "/v1/subscriptions/{subscription_id}", 404, subscribed, headers=token)

    missing = sorted(f"{method.upper()} {path}" for method, path in contract.operations() - contract.covered)
    assert missing == [], "operations not exercised here: add them"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/stats?plan=null", "plan"),
        ("/v1/stats?from=0001-01-01", "from"),
        ("/v1/stats?to=9999-12-31", "to"),
        ("/v1/stats?from=0", "from"),
        ("/v1/stats?from=2026-11-01T00:00:00", "from"),
        ("/v1/rules?as_of=9999-12-31", "as_of"),
        ("/v1/rules?as_of=1900-02-30", "as_of"),
        # Integers past the databases' own: a DataError (PostgreSQL) or an OverflowError (SQLite).
        ("/v1/admin/cases?offset=449419537279521845137113088", "offset"),
        ("/v1/admin/audit?after=99999999999999999999", "after"),
    ],
)
def test_what_the_fuzzer_found_is_a_422_naming_the_field(contract, everything, path, field):
    answer = contract.http.get(path, headers=everything)
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == [field]


@pytest.mark.parametrize(
    "day",
    [0, 1_763_769_600, "2026-12-26T00:00:00", "20261226", "0001-01-01", "9999-12-31", "2026-02-30"],
)
def test_a_date_in_a_body_is_a_strict_iso_day_within_bounds(http, everything, day):
    answer = http.post(
        "/v1/admin/holidays", json={"date": day, "workday": False, "note": ""}, headers=everything
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["field"] == "date"
    rule = {
        "list_type": "black",
        "measure": "restrict_honors",
        "effect": "restrict",
        "effective_from": day,
        "legal_basis": "《保障农民工工资支付条例》第四十八条",
    }
    answer = http.post("/v1/admin/rules", json=rule, headers=everything)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "effective_from"


@pytest.mark.parametrize("workday", [0, 1, "true", "no", None])
def test_a_calendar_day_is_a_workday_only_by_json_true_or_false(http, everything, workday):
    day = {"date": "2026-12-26", "workday": workday, "note": ""}
    answer = http.post("/v1/admin/holidays", json=day, headers=everything)
    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "workday", answer.text


def test_a_number_past_what_the_database_holds_is_a_422_never_a_500(http, everything):
    # Unbounded here (app/records): SQLite raises OverflowError, PostgreSQL a DataError; both are 422.
    answer = http.get("/v1/records", params={"offset": 10**20}, headers=everything)
    assert answer.status_code == 422, answer.text
