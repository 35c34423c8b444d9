"""Credit reports (信用报告): a PDF in Chinese, or JSON for machines, that anyone can verify later.

Each report gets an unguessable id. The registry keeps the SHA-256 of the exact bytes it sent and
signs {report id, digest, time of issue, subject} with its ES256 key (the JWKS at
/.well-known/jwks.json verifies the signature offline). GET /v1/public/reports/{id} says whether a
report is genuine; given the file (or its digest) it also says whether one byte of it changed.
"""

import base64
import hashlib
import io
import json
import logging
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.errors import NotFound
from app.keys import get_keyring
from app.kit.clock import CHINA, china_date, utcnow
from app.kit.pdffonts import cjk_font
from app.kit.signing import SignatureError, canonical_json
from app.public.models import PublicReport
from app.public.view import KIND_ZH, LIST_ZH, SEVERITY_ZH, PublicSubject
from app.records.schemas import LISTING_BASIS_ZH

log = logging.getLogger(__name__)

CREDIT_SCOPE = (
    "本报告列示截至出具时间，本系统归集的该主体处于公示期内的红名单、黑名单（失信主体名单）记录，"
    "覆盖全部领域。不含已届满公示期、已信用修复、已移出或已撤销的记录，不含依法仅共享或限制公开的记录，"
    "不含轻微失信行为及未成年人信息。本报告仅反映本系统的公示信息，不构成对主体信用状况的全面评价。"
)


def issuer() -> dict[str, str]:
    settings = get_settings()
    return {"name": settings.issuer_name, "contact": settings.issuer_contact}


def verification_hint(origin: str, report_id: str) -> dict[str, str]:
    """Where a report is verified: the human page (printed, and in the QR code) and the API."""
    return {
        "url": f"{origin}/reports/{report_id}",
        "api": f"{origin}/v1/public/reports/{report_id}",
        "jwks": f"{origin}/.well-known/jwks.json",
        "digest": "sha256",
    }


def new_report_id(now: datetime) -> str:
    # 60 random bits: report ids cannot be guessed to read other people's reports.
    return f"CR{china_date(now):%Y%m%d}-{base64.b32encode(secrets.token_bytes(10)).decode()[:12]}"


def report_content(
    subject: PublicSubject, report_id: str, issued_at: datetime, origin: str
) -> dict[str, Any]:
    """What a report says, in the JSON form (the PDF lays out the same content)."""
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in subject.records:
        by_domain[record["domain"]].append(record)
    return {
        "report_id": report_id,
        "issued_at": issued_at,
        "as_of": china_date(issued_at),
        "issuer": issuer(),
        "scope": CREDIT_SCOPE,
        "subject": {"name": subject.name, "kind": subject.kind, "identifier": subject.identifier},
        **subject.counts(),
        "late_disclosures": subject.late_disclosures,
        "domains": [
            {"domain": code, "name_zh": records[0]["domain_name_zh"], "records": records}
            for code, records in sorted(by_domain.items())
        ],
        "verification": verification_hint(origin, report_id),
    }


def _sign_and_store(
    session: Session,
    subject_id: Any,
    summary: dict[str, Any],
    report_id: str,
    issued_at: datetime,
    fmt: str,
    digest: str,
    request_key: str | None = None,
) -> PublicReport:
    claims = {
        "report_id": report_id,
        "sha256": digest,
        "format": fmt,
        "issued_at": issued_at.isoformat(),
        **summary,
    }
    stored = PublicReport(
        id=report_id,
        subject_id=subject_id,
        request_key=request_key,
        format=fmt,
        issued_at=issued_at,
        sha256=digest,
        signature=get_keyring().sign_jws(claims),
        summary=summary,
    )
    session.add(stored)
    session.flush()
    return stored


def _summary(subject: PublicSubject) -> dict[str, Any]:
    return {
        "subject": {"name": subject.name, "kind": subject.kind, "identifier": subject.identifier},
        **subject.counts(),
    }


def _issued_today(
    session: Session, fmt: str, subject_id: Any = None, request_key: str | None = None
) -> PublicReport | None:
    """The latest report in this format issued today (China's day) for this subject (or request).

    Asked for again the same day and saying the same (its bytes made again under its id and time
    are the ones it was issued with), that report is the answer, not a new one: the table grows
    with what reports say, not with how often anyone asks for them.
    """
    start_of_day = datetime.combine(china_date(utcnow()), time.min, CHINA)
    which = PublicReport.request_key == request_key if request_key else PublicReport.subject_id == subject_id
    query = (
        select(PublicReport)
        .where(which, PublicReport.format == fmt, PublicReport.issued_at >= start_of_day)
        .order_by(PublicReport.issued_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def issue_json(session: Session, subject: PublicSubject, origin: str) -> dict[str, Any]:
    """The JSON report: its digest covers the canonical JSON of everything but `signature`."""
    earlier = _issued_today(session, "json", subject.ref)
    if earlier is not None:
        content = report_content(subject, earlier.id, earlier.issued_at, origin)
        if hashlib.sha256(canonical_json(content)).hexdigest() == earlier.sha256:
            return content | {"sha256": earlier.sha256, "signature": earlier.signature}
    issued_at = utcnow().astimezone(UTC)  # as the database gives it back, for the same bytes again
    report_id = new_report_id(issued_at)
    content = report_content(subject, report_id, issued_at, origin)
    digest = hashlib.sha256(canonical_json(content)).hexdigest()
    stored = _sign_and_store(session, subject.ref, _summary(subject), report_id, issued_at, "json", digest)
    return content | {"sha256": digest, "signature": stored.signature}


class DuplicateKeys(ValueError):
    """A JSON object naming one key twice: parsers disagree on which value counts (RFC 8259 §4)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = sorted({key for key in keys if keys.count(key) > 1})
        raise DuplicateKeys(", ".join(twice))
    return dict(pairs)


def parse_json_report(body: bytes) -> dict[str, Any]:
    """A JSON report as sent for verification. Raises DuplicateKeys for an object naming a key twice
    (one parser reads the first value, another the last: the text shown and the text hashed could
    differ), ValueError when it is not a JSON object."""
    document = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def json_digest(document: dict[str, Any]) -> str:
    """The digest of a JSON report as it was issued (without its own digest and signature)."""
    content = {key: value for key, value in document.items() if key not in ("sha256", "signature")}
    return hashlib.sha256(canonical_json(orjson.loads(canonical_json(content)))).hexdigest()


def issue_pdf(session: Session, subject: PublicSubject, origin: str) -> tuple[str, bytes]:
    earlier = _issued_today(session, "pdf", subject.ref)
    if earlier is not None:
        content = report_content(subject, earlier.id, earlier.issued_at, origin)
        pdf = render_pdf(content)
        if hashlib.sha256(pdf).hexdigest() == earlier.sha256:
            return earlier.id, pdf
    issued_at = utcnow().astimezone(UTC)  # as the database gives it back, for the same bytes again
    report_id = new_report_id(issued_at)
    content = report_content(subject, report_id, issued_at, origin)
    pdf = render_pdf(content)
    digest = hashlib.sha256(pdf).hexdigest()
    _sign_and_store(session, subject.ref, _summary(subject), report_id, issued_at, "pdf", digest)
    return report_id, pdf


# --- 信用代证 special report: per domain, no record in force or the records, over up to 5 years ---

SPECIAL_MAX_YEARS = 5
SPECIAL_DEFAULT_YEARS = 3
SPECIAL_FORMAT = "special"
NAME_UNKNOWN = "（本系统无该组织的公示记录，名称请以统一社会信用代码核对）"


def special_content(
    *,
    identifier: str,
    name: str | None,
    kind: str | None,
    domains: list[tuple[str, str]],
    records: list[dict[str, Any]],
    years: int,
    report_id: str,
    issued_at: datetime,
    origin: str,
) -> dict[str, Any]:
    as_of = china_date(issued_at)
    since = _years_before(as_of, years)
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_domain[record["domain"]].append(record)
    listed = [
        {
            "domain": code,
            "name_zh": name_zh,
            "in_force": any(r["status"] == "active" for r in by_domain.get(code, [])),
            "records": by_domain.get(code, []),
        }
        for code, name_zh in domains
    ]
    return {
        "report_id": report_id,
        "kind": "special",
        "issued_at": issued_at,
        "as_of": as_of,
        "issuer": issuer(),
        "period": {"from": since, "to": as_of, "years": years},
        "scope": (
            f"本报告为专项信用报告（信用代证），逐一说明所选 {len(domains)} 个领域中，"
            "该组织截至出具时间处于公示期内的红名单、黑名单（失信主体名单）记录（不论作出日期）。"
            "已信用修复、公示期届满或已撤销的记录依法停止公示，不在本报告中列出；"
            "不含依法仅共享或限制公开的记录及轻微失信行为；"
            "“无公示中的记录”仅指本系统归集的信息，不构成对主体信用状况的全面评价。"
        ),
        "subject": {
            "name": name or NAME_UNKNOWN,
            "kind": kind or "organisation",
            "identifier": identifier,
        },
        "black_count": sum(1 for r in records if r["list_type"] == "black" and r["status"] == "active"),
        "red_count": sum(1 for r in records if r["list_type"] == "red" and r["status"] == "active"),
        "domains": listed,
        "verification": verification_hint(origin, report_id),
    }


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def special_records(
    connection: Any, identifier: str, today: date
) -> tuple[Any, str | None, str | None, list[dict[str, Any]]]:
    """(subject id, public name, kind, records) of an organisation for its special report."""
    from app.public.view import names, scrub
    from app.records import repository

    rows = repository.special_report_rows(connection, identifier, today)
    known = names(connection)
    records: list[dict[str, Any]] = []
    latest: tuple[tuple[date, Any], str] | None = None
    subject_id = kind = None
    for row in rows:
        (
            record_id,
            domain,
            list_type,
            severity,
            conduct,
            decision_no,
            decision_date,
            basis,
            start,
            end,
            objection,
            agency,
            name,
            received_at,
            status,
            exited_at,
            subject_id,
            kind,
            listing_basis,
            performance,
        ) = row
        records.append(
            {
                "id": record_id,
                "domain": domain,
                "domain_name_zh": known.domains.get(domain, domain),
                "list_type": list_type,
                "severity": severity,
                "conduct": scrub(conduct),
                "decision_no": scrub(decision_no),
                "decision_date": decision_date,
                "legal_basis": scrub(basis),
                "publicity_start": start,
                "publicity_end": end,
                "under_objection": bool(objection),
                "designating_agency": {"code": agency, "name_zh": known.agencies.get(agency, agency)},
                "status": status,
                "repaired_on": china_date(exited_at) if status == "repaired" and exited_at else None,
                # A court's listing: its ground, obligations and performance (法释〔2017〕7号 第六条).
                "listing_basis": listing_basis,
                "performance": scrub(performance) if performance else None,
            }
        )
        if latest is None or (decision_date, received_at) > latest[0]:
            latest = ((decision_date, received_at), name)
    if latest is None:  # nothing to show: answered exactly as for an organisation never listed
        return None, None, None, []
    return subject_id, scrub(latest[1]), kind, records


def issue_special(
    session: Session, identifier: str, domains: list[tuple[str, str]], years: int, origin: str
) -> tuple[str, bytes]:
    """The special report of an organisation (a clean one too): made, signed and stored like the PDF
    credit report, and verified the same way."""
    connection = session.connection()
    today = china_date(utcnow())
    subject_id, name, kind, records = special_records(connection, identifier, today)
    chosen = {code for code, _ in domains}
    records = [record for record in records if record["domain"] in chosen]
    request_key = hashlib.sha256(
        f"special|{identifier}|{','.join(sorted(chosen))}|{years}".encode()
    ).hexdigest()

    def make(report_id: str, issued_at: datetime) -> tuple[dict[str, Any], bytes]:
        content = special_content(
            identifier=identifier,
            name=name,
            kind=kind,
            domains=domains,
            records=records,
            years=years,
            report_id=report_id,
            issued_at=issued_at,
            origin=origin,
        )
        return content, render_pdf(content)

    earlier = _issued_today(session, SPECIAL_FORMAT, request_key=request_key)
    if earlier is not None:
        _, pdf = make(earlier.id, earlier.issued_at)
        if hashlib.sha256(pdf).hexdigest() == earlier.sha256:
            return earlier.id, pdf
    issued_at = utcnow().astimezone(UTC)
    report_id = new_report_id(issued_at)
    content, pdf = make(report_id, issued_at)
    summary = {
        "subject": content["subject"],
        "black_count": content["black_count"],
        "red_count": content["red_count"],
        "period": {key: str(value) for key, value in content["period"].items()},
        "domains": [code for code, _ in domains],
    }
    digest = hashlib.sha256(pdf).hexdigest()
    _sign_and_store(session, subject_id, summary, report_id, issued_at, SPECIAL_FORMAT, digest, request_key)
    return report_id, pdf


def _until(publicity_end: Any) -> str:
    # 法释〔2017〕7号: a debtor able but refusing to perform stays listed until the debt is performed.
    return publicity_end.isoformat() if publicity_end else "履行完毕之日（无固定期限）"


def qr_drawing(url: str, size: float) -> Any:
    """The QR code of a report's verification page, `size` points square (reportlab's own encoder)."""
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def render_pdf(content: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.graphics import renderPDF
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cjk_font(get_settings().report_font)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle(
        "small", parent=body, fontSize=8.5, leading=12, textColor=colors.HexColor("#444444")
    )
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    masthead = ParagraphStyle("masthead", parent=small, rightIndent=32 * mm)  # clear of the QR code
    heading = ParagraphStyle("heading", parent=body, fontSize=12.5, leading=20, spaceBefore=8)
    special = content.get("kind") == "special"
    verification = content["verification"]

    def para(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def record_table(record: dict[str, Any]) -> Table:
        rows = [
            [para("名单"), para(f"{LIST_ZH[record['list_type']]}（{SEVERITY_ZH[record['severity']]}）")],
            [para("认定部门"), para(record["designating_agency"]["name_zh"])],
            [para("决定文号"), para(record["decision_no"])],
            [para("决定日期"), para(record["decision_date"].isoformat())],
            [para("公示期至"), para(_until(record["publicity_end"]))],
            [para("失信/守信行为"), para(record["conduct"])],
            [para("依据"), para(record["legal_basis"])],
        ]
        if record.get("listing_basis"):  # a court's listing: its ground (法释〔2017〕7号 第六条（四）)
            rows.insert(6, [para("失信情形"), para(LISTING_BASIS_ZH[record["listing_basis"]])])
        if record.get("performance"):  # and the obligations and their performance (第六条（三）)
            rows.insert(6, [para("义务及履行情况"), para(record["performance"])])
        for party in record.get("related", []):
            rows.append([para(party["role_zh"]), para(f"{party['name']}（{party['identifier']}）")])
        if record.get("status") == "repaired":
            repaired_on = record.get("repaired_on")
            rows.insert(0, [para("状态"), para(f"已信用修复（{repaired_on or ''}），已停止公示")])
        elif record["under_objection"]:
            rows.append([para("状态"), para("异议处理中")])
        table = Table(rows, colWidths=[32 * mm, 138 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table

    subject = content["subject"]
    issued = content["issued_at"].astimezone(CHINA)
    kind_zh = KIND_ZH.get(subject["kind"], "组织")
    story: list[Any] = [
        para("专项信用报告（信用代证）" if special else "信用报告", title),
        para(f"报告编号：{content['report_id']}", masthead),
        para(f"出具时间：{issued:%Y年%m月%d日 %H:%M}（北京时间）", masthead),
        para(f"出具机构：{content['issuer']['name']}", masthead),
        para(f"联系方式：{content['issuer']['contact']}", masthead),
        Spacer(1, 4 * mm),
        para("报告范围", heading),
        para(content["scope"], small),
        para("一、主体信息", heading),
        para(f"名称：{subject['name']}"),
        para(f"主体类型：{kind_zh}"),
        para(f"统一社会信用代码/身份证件号码：{subject['identifier']}"),
    ]
    if special:
        period = content["period"]
        story += [
            para(f"查询期间：{period['from']:%Y年%m月%d日} 至 {period['to']:%Y年%m月%d日}"),
            para(f"查询年限：{period['years']} 年"),
            para(f"公示中的黑名单记录 {content['black_count']} 条，红名单记录 {content['red_count']} 条。"),
            para("二、分领域查询结果", heading),
        ]
        for domain in content["domains"]:
            story.append(para(f"【{domain['name_zh']}】", heading))
            if not domain["records"]:
                story.append(para("无公示中的记录。"))
                continue
            for record in domain["records"]:
                story += [record_table(record), Spacer(1, 3 * mm)]
    else:
        story += [
            para(
                f"公示中的黑名单记录 {content['black_count']} 条，红名单记录 {content['red_count']} 条；"
                f"其中认定部门在决定作出 7 个工作日后才报送的 {content['late_disclosures']} 条。"
            ),
            para("二、按领域列示的公示记录", heading),
        ]
        if not content["domains"]:
            story.append(para("截至出具时间，未查询到该主体在公示期内的红名单、黑名单记录。"))
        for domain in content["domains"]:
            story.append(para(f"【{domain['name_zh']}】", heading))
            for record in domain["records"]:
                story += [record_table(record), Spacer(1, 3 * mm)]
    story += [
        Spacer(1, 6 * mm),
        para("三、核验", heading),
        para(f"核验地址：{verification['url']}"),
        para(
            "扫描首页二维码或打开上述地址，上传本文件，即可核验其是否为本系统出具的原件、是否被改动。"
            "本报告的 SHA-256 摘要已由出具机构以数字签名（ES256）留存，"
            f"签名公钥见 {verification['jwks']}。"
        ),
        para("说明：自然人身份证件号码仅显示地区码和出生年份。", small),
    ]
    footer = (
        f"{content['issuer']['name']}　报告编号 {content['report_id']}",
        f"核验地址：{verification['url']}",
    )
    page_width, page_height = A4

    def first_page(canvas: Canvas, _document: Any) -> None:
        size = 26 * mm
        renderPDF.draw(
            qr_drawing(verification["url"], size),
            canvas,
            page_width - 20 * mm - size,
            page_height - 14 * mm - size,
        )
        canvas.setFont(font, 7)
        canvas.drawCentredString(
            page_width - 20 * mm - size / 2, page_height - 17 * mm - size, "扫码核验真伪"
        )

    class NumberedCanvas(Canvas):
        """Pages held back until the end, so that each can say how many there are (第 x 页 共 y 页)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, 1):
                self.__dict__.update(state)
                self.setFont(font, 7.5)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(20 * mm, 12 * mm, footer[0])
                self.drawString(20 * mm, 8.5 * mm, footer[1])
                self.drawRightString(page_width - 20 * mm, 12 * mm, f"第 {number} 页 共 {total} 页")
                super().showPage()
            super().save()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{'专项信用报告' if special else '信用报告'} {content['report_id']}",
        author=content["issuer"]["name"],
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,  # the same content gives the same bytes (no creation time, a derived file id)
    )
    document.build(story, onFirstPage=first_page, canvasmaker=NumberedCanvas)
    return buffer.getvalue()


# --- Verification: one verdict, stated once ---

VERDICT_ZH = {
    None: "真实有效：本报告由本系统出具，数字签名有效",
    "content_changed": "未通过核验：文件内容与出具时不一致，可能被改动",
    "signature_invalid": "未通过核验：报告的数字签名无效",
    "key_unknown": "未通过核验：签名所用的密钥不是本系统的现行密钥",
    "duplicate_keys": "未通过核验：提交的 JSON 中有重复的键，不同程序读出的内容可能不同",
    "unknown_report": "未通过核验：本系统没有出具过该编号的报告",
}
UNCHANGED_ZH = "真实有效：本报告由本系统出具，数字签名有效；文件未被改动，与出具时一致"


def verify(
    session: Session, report_id: str, sha256: str | None = None, problem: str | None = None
) -> dict[str, Any]:
    """One verdict on a report: genuine (issued here, signature valid) and, when its file or digest
    was given, unchanged; or not, and why (`reason`, and `verdict_zh` in Chinese). `problem` is a
    reason found in the file before any digest (a JSON report naming a key twice)."""
    stored = session.get(PublicReport, report_id.strip())
    if stored is None:
        raise NotFound(f"no report {report_id}: it was not issued by this registry")
    reason: str | None = None
    try:
        claims = get_keyring().verify_jws(stored.signature)
        if claims.get("report_id") != stored.id or claims.get("sha256") != stored.sha256:
            reason = "signature_invalid"
    except SignatureError as exc:
        reason = "key_unknown" if "unknown key" in str(exc) else "signature_invalid"
    content_matches: bool | None = None
    if problem is not None:
        content_matches = False
        reason = reason or problem
    elif sha256 is not None:
        content_matches = secrets.compare_digest(sha256.strip().lower(), stored.sha256)
        if not content_matches:
            reason = reason or "content_changed"
    genuine = reason is None
    return {
        "report_id": stored.id,
        "genuine": genuine,
        "valid": genuine,
        "verdict": "genuine" if genuine else "not_genuine",
        "reason": reason,
        "verdict_zh": UNCHANGED_ZH if genuine and content_matches else VERDICT_ZH[reason],
        "content_matches": content_matches,
        "format": stored.format,
        "issued_at": stored.issued_at,
        "sha256": stored.sha256,
        "signature": stored.signature,
        **{
            key: value
            for key, value in stored.summary.items()
            if key in ("subject", "black_count", "red_count")
        },
    }


def digest_of_file(body: bytes) -> tuple[str, str | None]:
    """(digest, problem) of a report file sent for verification: a JSON report's issued digest (its
    canonical form without `sha256` and `signature`), any other file's SHA-256; problem
    `duplicate_keys` for a JSON object naming a key twice, which is never taken as genuine."""
    if body.lstrip().startswith(b"{"):
        try:
            return json_digest(parse_json_report(body)), None
        except DuplicateKeys:
            return hashlib.sha256(body).hexdigest(), "duplicate_keys"
        # Not JSON, not UTF-8, nested past any report, numbers or strings no report holds: compared
        # as bytes, and so not the report issued.
        except (ValueError, TypeError, RecursionError):
            pass
    return hashlib.sha256(body).hexdigest(), None
