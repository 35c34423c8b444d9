from pathlib import Path

from sqlalchemy import select

from app.catalog.models import Agency
from app.catalog.seed import read_seed_catalog
from app.db import session_scope

API_DOMAIN_CODES = {
    "telecom_fraud",
    "internet_information",
    "epidemic_supplies",
    "poverty_alleviation",
    "exam_cheating",
    "transportation",
    "social_insurance_fraud",
    "court_judgments",
    "financial",
    "ecological_environment",
    "illegal_medical_practice",
    "counterfeit_drugs",
    "wage_arrears",
    "low_price_tours",
    "tax_fraud",
    "illegal_social_organizations",
    "charity_fraud",
    "performance_ticketing",
    "fake_lottery",
}
# The seed plans sit beside the checkouts (/work/shared/seeds), however deep the checkout is.
SEEDS = next(
    (p / "shared" / "seeds" for p in Path(__file__).resolve().parents if (p / "shared" / "seeds").is_dir()),
    Path("/work/shared/seeds"),
)


def test_domains_are_the_nineteen_of_the_contract(http):
    answer = http.get("/v1/domains")
    assert answer.status_code == 200
    domains = answer.json()
    assert {d["code"] for d in domains} == API_DOMAIN_CODES
    assert all(d["name_zh"] and d["name_en"] for d in domains)


def test_domain_detail_names_each_plan_and_role(http):
    detail = http.get("/v1/domains/telecom_fraud").json()
    assert detail["name_zh"] == "电信网络诈骗"
    national = [a for a in detail["assignments"] if a["plan"]["document_no"] == "文明委〔2020〕6号"]
    leads = {a["agency"]["name_zh"] for a in national if a["role"] == "lead"}
    assert "公安部" in leads
    assert {a["role"] for a in detail["assignments"]} <= {"lead", "participant"}


def test_both_plans_are_loaded_with_their_items():
    seed = read_seed_catalog()
    items = {plan["code"]: 0 for plan in seed["plans"]}
    for assignment in seed["assignments"]:
        items[assignment["plan"]] += 1
    by_document = {plan["document_no"]: items[plan["code"]] for plan in seed["plans"]}
    assert by_document == {"文明委〔2020〕6号": 10, "枣文明委〔2019〕2号": 18}


def test_agency_names_are_written_as_in_the_plans():
    text = "".join(path.read_text() for path in SEEDS.glob("*.txt"))
    with session_scope(writing=False) as session:
        names = session.scalars(select(Agency.name_zh).where(Agency.code != "national.credit_office")).all()
    missing = [name for name in names if name not in text]
    assert names and missing == []


def test_unknown_domain_is_404_in_the_error_shape(http):
    answer = http.get("/v1/domains/no_such_domain")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


def test_each_domain_says_whether_natural_persons_are_published(http, token_for):
    domains = {d["code"]: d for d in http.get("/v1/domains").json()}
    assert domains["court_judgments"]["natural_persons"] == "public"
    assert "法释〔2017〕7号" in domains["court_judgments"]["natural_persons_basis"]
    assert {d["natural_persons"] for code, d in domains.items() if code != "court_judgments"} == {"shared"}
    admin = token_for("national.market_regulation", "admin")
    agency = token_for("national.public_security", "records:write")
    url = "/v1/admin/domains/wage_arrears/publication"
    try:
        unfounded = http.put(url, json={"natural_persons": "public"}, headers=admin)
        assert unfounded.status_code == 422 and unfounded.json()["fields"][0]["field"] == "legal_basis"
        basis = "《保障农民工工资支付条例》第四十八条"
        answer = http.put(url, json={"natural_persons": "public", "legal_basis": basis}, headers=admin)
        assert answer.status_code == 200 and answer.json()["natural_persons"] == "public"
        assert http.get("/v1/domains/wage_arrears").json()["natural_persons_basis"] == basis
        assert http.put(url, json={"natural_persons": "shared"}, headers=agency).status_code == 403
    finally:  # the catalog outlives a test
        http.put(url, json={"natural_persons": "shared"}, headers=admin)
