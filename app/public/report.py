"""Credit reports (信用报告): a PDF in Chinese, or JSON for machines, that anyone can verify later.

Each report gets an unguessable id. The registry keeps the SHA-256 of the exact bytes it sent and
signs {report id, digest, time of issue, subject} with its ES256 key (the JWKS at
/.well-known/jwks.json verifies the signature offline). GET /v1/public/reports/{id} says whether a
report is genuine; given the file (or its digest) it also says whether one byte of it changed.
"""

import base64
import hashlib
import io
import secrets
from collections import defaultdict
from datetime import UTC, datetime, time
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.keys import get_keyring
from app.kit.clock import CHINA, china_date, utcnow
from app.kit.signing import canonical_json
from app.public.models import PublicReport
from app.public.view import KIND_ZH, LIST_ZH, SEVERITY_ZH, PublicSubject

# reportlab's built-in CJK CID font: the PDF viewer supplies the glyphs, so nothing needs installing.
CJK_FONT = "STSong-Light"


def new_report_id(now: datetime) -> str:
    # 60 random bits: report ids cannot be guessed to read other people's reports.
    return f"CR{china_date(now):%Y%m%d}-{base64.b32encode(secrets.token_bytes(10)).decode()[:12]}"


def report_content(
    subject: PublicSubject, report_id: str, issued_at: datetime, verify_url: str
) -> dict[str, Any]:
    """What a report says, in the JSON form (the PDF lays out the same content)."""
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in subject.records:
        by_domain[record["domain"]].append(record)
    return {
        "report_id": report_id,
        "issued_at": issued_at,
        "as_of": china_date(issued_at),
        "subject": {"name": subject.name, "kind": subject.kind, "identifier": subject.identifier},
        **subject.counts(),
        "late_disclosures": subject.late_disclosures,
        "domains": [
            {"domain": code, "name_zh": records[0]["domain_name_zh"], "records": records}
            for code, records in sorted(by_domain.items())
        ],
        "verification": {"url": verify_url, "jwks": "/.well-known/jwks.json", "digest": "sha256"},
    }


def _sign_and_store(
    session: Session, subject: PublicSubject, report_id: str, issued_at: datetime, fmt: str, digest: str
) -> PublicReport:
    summary = {
        "subject": {"name": subject.name, "kind": subject.kind, "identifier": subject.identifier},
        **subject.counts(),
    }
    claims = {
        "report_id": report_id,
        "sha256": digest,
        "format": fmt,
        "issued_at": issued_at.isoformat(),
        **summary,
    }
    stored = PublicReport(
        id=report_id,
        subject_id=subject.ref,
        format=fmt,
        issued_at=issued_at,
        sha256=digest,
        signature=get_keyring().sign_jws(claims),
        summary=summary,
    )
    session.add(stored)
    session.flush()
    return stored


def _issued_today(session: Session, subject: PublicSubject, fmt: str) -> PublicReport | None:
    """The subject's latest report in this format issued today (China's day).

    Asked for again the same day and saying the same (its bytes made again under its id and time
    are the ones it was issued with), that report is the answer, not a new one: the table grows
    with what reports say, not with how often anyone asks for them.
    """
    start_of_day = datetime.combine(china_date(utcnow()), time.min, CHINA)
    query = (
        select(PublicReport)
        .where(
            PublicReport.subject_id == subject.ref,
            PublicReport.format == fmt,
            PublicReport.issued_at >= start_of_day,
        )
        .order_by(PublicReport.issued_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def issue_json(session: Session, subject: PublicSubject, verify_base: str) -> dict[str, Any]:
    """The JSON report: its digest covers the canonical JSON of everything but `signature`."""
    earlier = _issued_today(session, subject, "json")
    if earlier is not None:
        content = report_content(subject, earlier.id, earlier.issued_at, f"{verify_base}{earlier.id}")
        if hashlib.sha256(canonical_json(content)).hexdigest() == earlier.sha256:
            return content | {"sha256": earlier.sha256, "signature": earlier.signature}
    issued_at = utcnow().astimezone(UTC)  # as the database gives it back, for the same bytes again
    report_id = new_report_id(issued_at)
    content = report_content(subject, report_id, issued_at, f"{verify_base}{report_id}")
    digest = hashlib.sha256(canonical_json(content)).hexdigest()
    stored = _sign_and_store(session, subject, report_id, issued_at, "json", digest)
    return content | {"sha256": digest, "signature": stored.signature}


def json_digest(document: dict[str, Any]) -> str:
    """The digest of a JSON report as it was issued (without its own digest and signature)."""
    content = {key: value for key, value in document.items() if key not in ("sha256", "signature")}
    return hashlib.sha256(canonical_json(orjson.loads(canonical_json(content)))).hexdigest()


def issue_pdf(session: Session, subject: PublicSubject, verify_base: str) -> tuple[str, bytes]:
    earlier = _issued_today(session, subject, "pdf")
    if earlier is not None:
        content = report_content(subject, earlier.id, earlier.issued_at, f"{verify_base}{earlier.id}")
        pdf = render_pdf(content)
        if hashlib.sha256(pdf).hexdigest() == earlier.sha256:
            return earlier.id, pdf
    issued_at = utcnow().astimezone(UTC)  # as the database gives it back, for the same bytes again
    report_id = new_report_id(issued_at)
    content = report_content(subject, report_id, issued_at, f"{verify_base}{report_id}")
    pdf = render_pdf(content)
    _sign_and_store(session, subject, report_id, issued_at, "pdf", hashlib.sha256(pdf).hexdigest())
    return report_id, pdf


def _until(publicity_end: Any) -> str:
    # 法释〔2017〕7号: a debtor able but refusing to perform stays listed until the debt is performed.
    return publicity_end.isoformat() if publicity_end else "履行完毕之日（无固定期限）"


def render_pdf(content: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle(
        "small", parent=body, fontSize=8.5, leading=12, textColor=colors.HexColor("#444444")
    )
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    heading = ParagraphStyle("heading", parent=body, fontSize=12.5, leading=20, spaceBefore=8)

    def para(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    subject = content["subject"]
    issued = content["issued_at"].astimezone(CHINA)
    story: list[Any] = [
        para("信用报告", title),
        para(f"报告编号：{content['report_id']}", small),
        para(f"出具时间：{issued:%Y年%m月%d日 %H:%M}（北京时间）", small),
        Spacer(1, 4 * mm),
        para("一、主体信息", heading),
        para(f"名称：{subject['name']}"),
        para(f"主体类型：{KIND_ZH.get(subject['kind'], subject['kind'])}"),
        para(f"统一社会信用代码/身份证件号码：{subject['identifier']}"),
        para(
            f"公示中的黑名单记录 {content['black_count']} 条，红名单记录 {content['red_count']} 条；"
            f"其中超过 7 个工作日报送的 {content['late_disclosures']} 条。"
        ),
        para("二、按领域列示的公示记录", heading),
    ]
    if not content["domains"]:
        story.append(para("截至出具时间，未查询到该主体在公示期内的红名单、黑名单记录。"))
    for domain in content["domains"]:
        story.append(para(f"【{domain['name_zh']}】", heading))
        for record in domain["records"]:
            rows = [
                [para("名单"), para(f"{LIST_ZH[record['list_type']]}（{SEVERITY_ZH[record['severity']]}）")],
                [para("认定部门"), para(record["designating_agency"]["name_zh"])],
                [para("决定文号"), para(record["decision_no"])],
                [para("决定日期"), para(record["decision_date"].isoformat())],
                [para("公示期至"), para(_until(record["publicity_end"]))],
                [para("失信/守信行为"), para(record["conduct"])],
                [para("依据"), para(record["legal_basis"])],
            ]
            for party in record.get("related", []):
                rows.append([para(party["role_zh"]), para(f"{party['name']}（{party['identifier']}）")])
            if record["under_objection"]:
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
            story += [table, Spacer(1, 3 * mm)]
    story += [
        Spacer(1, 6 * mm),
        para("三、核验", heading),
        para(
            "本报告的 SHA-256 摘要已由登记系统以数字签名（ES256）留存。"
            f"核验地址：{content['verification']['url']}"
            f"（报告编号 {content['report_id']}）。上传本文件即可核验其是否为原件、是否被改动；"
            f"签名公钥见 {content['verification']['jwks']}。"
        ),
        para("说明：自然人身份证件号码仅显示地区码和出生年份；本报告仅列示公示期内的公开记录。", small),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"信用报告 {content['report_id']}",
        author="信用红黑名单登记系统",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,  # the same content gives the same bytes (no creation time, a derived file id)
    )
    document.build(story)
    return buffer.getvalue()


def verify(session: Session, report_id: str, sha256: str | None = None) -> dict[str, Any]:
    """Whether a report is genuine; with a digest (or the file's), whether the file is unchanged."""
    stored = session.get(PublicReport, report_id.strip())
    if stored is None:
        raise NotFound(f"no report {report_id}: it was not issued by this registry")
    try:
        claims = get_keyring().verify_jws(stored.signature)
        signature_valid = claims.get("report_id") == stored.id and claims.get("sha256") == stored.sha256
    except Exception:  # a stored signature that no longer verifies is reported, not raised
        signature_valid = False
    answer: dict[str, Any] = {
        "report_id": stored.id,
        "genuine": signature_valid,
        "format": stored.format,
        "issued_at": stored.issued_at,
        "sha256": stored.sha256,
        "signature": stored.signature,
        **stored.summary,
    }
    if sha256 is not None:
        answer["content_matches"] = secrets.compare_digest(sha256.strip().lower(), stored.sha256)
        answer["valid"] = signature_valid and answer["content_matches"]
    else:
        answer["valid"] = signature_valid
    return answer
