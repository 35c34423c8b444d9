"""Data for scripts/fuzz: records, cases, a check and reports made through the API, and a schemathesis
config that offers their ids and identifiers to the generated requests (half of the time), so that the
fuzzer reaches the services behind the lookups instead of stopping at 404.

    python scripts/fuzz_seed.py BASE_URL TOKEN CONFIG_PATH
"""

import json
import sys
from datetime import date, timedelta
from typing import Any

import httpx

from app.kit.clock import china_today
from app.kit.identifiers import complete_uscc, resident_id_check_character

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def uscc(serial: int) -> str:
    return complete_uscc(f"91110000{serial:08d}")


def resident_id(birth: date, serial: int) -> str:
    body = f"110101{birth:%Y%m%d}{serial:03d}"
    return body + resident_id_check_character(body)


def record(n: int, subject: dict[str, str], decided: date, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"fuzz-{n}",
        "domain": "telecom_fraud",
        "list_type": "black",
        "severity": "serious",
        "subject": subject,
        "conduct": "为电信网络诈骗提供支付结算帮助",
        "decision_no": f"公刑罚字〔{decided.year}〕{n}号",
        "decision_date": decided.isoformat(),
        "legal_basis": "《中华人民共和国反电信网络诈骗法》第三十一条",
        # A serious black listing is told to the subject first (国办发〔2020〕49号 (八)): the notice
        # the agency served itself, a month before its decision.
        "notice": {
            "document_no": f"公告字〔{decided.year}〕{n}号",
            "served_on": (decided - timedelta(days=30)).isoformat(),
        },
    } | extra


def main(base: str, token: str, config_path: str) -> None:
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def ok(answer: httpx.Response) -> Any:
        assert answer.status_code < 300, f"{answer.request.method} {answer.request.url}: {answer.text}"
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer

    today = china_today()  # the server's clock is this machine's
    companies = [uscc(n) for n in (1, 2, 3)]
    person = resident_id(date(1980, 5, 17), 21)
    black = ok(api.post("/v1/records", json=record(1, _company(companies[0]), today - timedelta(days=2))))
    # Decided half a year ago, general: its subject may apply for repair (after 3 months).
    general = record(2, _company(companies[1]), today - timedelta(days=180), severity="general")
    repairable = ok(api.post("/v1/records", json=general))
    red = record(3, _company(companies[2]), today - timedelta(days=5), list_type="red", severity="minor")
    listed_red = ok(api.post("/v1/records", json=red))
    person_record = record(
        4,
        {"kind": "natural_person", "name": "张三", "identifier_type": "resident_id", "identifier": person},
        today - timedelta(days=3),
    )
    listed_person = ok(api.post("/v1/records", json=person_record))
    records = [black["id"], repairable["id"], listed_red["id"], listed_person["id"]]

    repair = ok(
        api.post(
            "/v1/public/repairs",
            json={
                "record_id": repairable["id"],
                "applicant": {"name": "测试科技有限公司", "contact": "0632-1234567"},
                "statement": "已全额缴纳罚款并完成整改",
                "commitment": True,
                "evidence": [{"kind": "fine_paid", "description": "罚款缴纳凭证"}],
            },
        )
    )
    objection = ok(
        api.post(
            "/v1/public/objections",
            json={
                "record_id": black["id"],
                "reason": "inaccurate",
                "statement": "金额有误",
                "contact": "138",
            },
        )
    )
    stored = ok(
        api.post(
            f"/v1/public/cases/{repair['query_code']}/files",
            files={"file": ("receipt.png", PNG, "image/png")},
        )
    )
    check = ok(api.post("/v1/checks", json={"subject": {"identifier": companies[0]}, "action": "financing"}))
    report_json = ok(api.get(f"/v1/public/subjects/{companies[0]}/report.json"))
    report_pdf = ok(api.get(f"/v1/public/subjects/{companies[0]}/report.pdf")).headers["X-Report-Id"]
    rules = [rule["id"] for rule in ok(api.get("/v1/rules", params={"domain": "telecom_fraud"}))][:3]
    plans = sorted({a["plan"]["code"] for a in ok(api.get("/v1/domains/telecom_fraud"))["assignments"]})

    dictionaries = {
        "records": records,
        "identifiers": [*companies, person],
        "query_codes": [repair["query_code"], objection["query_code"]],
        "cases": [repair["id"], objection["id"]],
        "files": [stored["id"]],
        "checks": [check["id"]],
        "reports": [report_json["report_id"], report_pdf],
        "domains": ["telecom_fraud", "court_judgments", "tax_fraud"],
        "rules": rules,
        "plans": plans,
    }
    bindings = {
        "path.record_id": "records",
        "path.identifier": "identifiers",
        "path.query_code": "query_codes",
        "path.case_id": "cases",
        "path.file_id": "files",
        "path.check_id": "checks",
        "path.report_id": "reports",
        "path.code": "domains",
        "path.domain": "domains",
        "path.rule_id": "rules",
        "query.domain": "domains",
        "query.plan": "plans",
        "query.identifier": "identifiers",
        "body.record_id": "records",
        "body.subject.identifier": "identifiers",
        "body.items[*].subject.identifier": "identifiers",
    }
    lines = []
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, name in bindings.items():
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    with open(config_path, "w") as config:
        config.write("\n".join(lines) + "\n")
    print(f"seeded {len(records)} records, 2 cases, a check and 2 reports; config: {config_path}")


def _company(identifier: str) -> dict[str, str]:
    return {
        "kind": "legal_person",
        "name": f"测试科技有限公司{identifier[-4:]}",
        "identifier_type": "uscc",
        "identifier": identifier,
    }


if __name__ == "__main__":
    main(*sys.argv[1:4])
