"""The repair notice (信用修复告知书) every listing is served with ("两书同达"; issue 15): the earliest
repair date, the conditions, the channel and the query address, as JSON and as a PDF in Chinese."""

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from app.kit.pdffonts import FALLBACK_FONT, cjk_font
from tests.conftest import COURT, TAX, record_body


@pytest.fixture
def listed(http, police):
    answer = http.post(
        "/v1/records", json=record_body(1, subject={"name": "北京星辰科技有限公司"}), headers=police
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_json_names_the_earliest_date_conditions_channel_and_query(http, police, listed):
    answer = http.get(f"/v1/records/{listed['id']}/repair-notice.json", headers=police)
    assert answer.status_code == 200, answer.text
    notice = answer.json()
    assert notice["title"] == "信用修复告知书"
    # Serious: repair from one year after the decision of 2026-11-18 (NDRC Order No. 36).
    assert notice["earliest_repair_date"] == "2027-11-18" and "2027年11月18日" in notice["earliest_repair"]
    assert {c["code"] for c in notice["conditions"]} == {
        "conduct_corrected",
        "obligations_met",
        "credit_commitment",
    }
    assert notice["channel"]["web"].endswith(f"/records/{listed['id']}/repair")
    assert notice["channel"]["api"].endswith("/v1/public/repairs")
    assert notice["query"]["web"].startswith("http") and notice["query"]["progress"].endswith("/progress")
    assert notice["designating_agency"]["name_zh"] == "公安部"


def test_the_earliest_date_follows_the_severity_and_court_listings_end_on_performance(
    http, police, token_for
):
    general = http.post("/v1/records", json=record_body(2, severity="general"), headers=police).json()
    notice = http.get(f"/v1/records/{general['id']}/repair-notice.json", headers=police).json()
    assert notice["earliest_repair_date"] == "2027-02-18"

    court = token_for(COURT, "records:write", "records:read")
    body = record_body(3, domain="court_judgments", listing_basis="refuses_despite_ability", notice=None)
    listing = http.post("/v1/records", json=body, headers=court).json()
    notice = http.get(f"/v1/records/{listing['id']}/repair-notice.json", headers=court).json()
    assert notice["earliest_repair_date"] is None and "履行" in notice["earliest_repair"]
    assert {c["code"] for c in notice["conditions"]} == {"obligations_performed", "settled", "other_lawful"}


def test_a_red_listing_has_nothing_to_repair(http, police):
    red = record_body(4, list_type="red", severity="general", conduct="诚信经营")
    record = http.post("/v1/records", json=red, headers=police).json()
    answer = http.get(f"/v1/records/{record['id']}/repair-notice.json", headers=police)
    assert answer.status_code == 422 and answer.json()["error"] == "repair_not_applicable"


def test_only_the_designating_agency_or_an_administrator_gets_it(http, token_for, listed):
    reader = token_for(TAX, "records:read")
    for suffix in ("json", "pdf"):
        assert (
            http.get(f"/v1/records/{listed['id']}/repair-notice.{suffix}", headers=reader).status_code == 404
        )
    admin = token_for(TAX, "admin", "records:read")
    assert http.get(f"/v1/records/{listed['id']}/repair-notice.json", headers=admin).status_code == 200
    assert http.get(f"/v1/records/{listed['id']}/repair-notice.json").status_code == 401


def _pdf(http, police, listed) -> bytes:
    answer = http.get(f"/v1/records/{listed['id']}/repair-notice.pdf", headers=police)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf" and answer.content.startswith(b"%PDF-")
    return answer.content


def test_the_pdf_reads_back_in_chinese_with_the_earliest_date(http, police, listed):
    reader = PdfReader(io.BytesIO(_pdf(http, police, listed)))
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in (
        "信用修复告知书",
        "北京星辰科技有限公司",
        "公安部",
        "2027年11月18日",
        "信用承诺",
        f"/records/{listed['id']}/repair",
        "/v1/public/repairs",
        "/progress",
    ):
        assert expected in text, expected
    if cjk_font() != FALLBACK_FONT:  # the OS font, embedded
        fonts = {
            str(font.get_object()["/BaseFont"])
            for page in reader.pages
            for font in page["/Resources"]["/Font"].values()
        }
        assert any("WenQuanYi" in font for font in fonts), fonts


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (Debian poppler-utils) not installed")
def test_the_pdf_renders_to_an_image(http, police, listed, tmp_path):
    source = tmp_path / "notice.pdf"
    source.write_bytes(_pdf(http, police, listed))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (image,) = tmp_path.glob("page*.png")
    png = image.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000  # a page with text on it, not a blank one
