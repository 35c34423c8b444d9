"""The repair notice (信用修复告知书) served with every listing decision ("两书同达", 国办发〔2020〕49号;
NDRC Order No. 36): from when and on what conditions the subject may apply for credit repair, where to
apply, and where to look the listing up. JSON for the agency's systems, a PDF in Chinese to serve.
"""

import io
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from app.auth.scopes import Scope
from app.auth.service import Principal
from app.config import get_settings
from app.errors import NotFound
from app.kit.clock import add_months, china_today
from app.kit.pdffonts import cjk_font
from app.notices.errors import RepairNotApplicable
from app.records import ingest, publicity, repository

if TYPE_CHECKING:
    from app.records.models import Record

# The repair decision is due within 10 working days (国办发〔2020〕49号; NDRC Order No. 36).
DECISION_WORKDAYS = 10

CONDITIONS = [
    {"code": "conduct_corrected", "zh": "已纠正失信行为，消除不良影响"},
    {"code": "obligations_met", "zh": "已履行行政处罚等决定确定的法定义务（如缴清罚款、没收违法所得）"},
    {"code": "credit_commitment", "zh": "作出信用承诺（信用修复承诺书），并同意向社会公开"},
]
LIST_ZH = {"black": "失信主体名单（黑名单）", "focus": "重点关注名单"}
# 法释〔2017〕7号 第十条: a court deletes the listing once the debt is performed or settled.
COURT_CONDITIONS = [
    {"code": "obligations_performed", "zh": "已履行生效法律文书确定的义务"},
    {"code": "settled", "zh": "与申请执行人达成执行和解协议并经其确认履行完毕"},
    {"code": "other_lawful", "zh": "存在其他依法应当删除失信信息的情形"},
]


def _record(session: Session, principal: Principal, record_id: uuid.UUID) -> "Record":
    record = repository.find_record(session, record_id)
    if record is None or not (record.agency_code == principal.agency_code or principal.has(Scope.admin)):
        raise NotFound(f"no record {record_id} among this agency's records")
    return record


def repair_notice(
    session: Session, principal: Principal, record_id: uuid.UUID, base_url: str
) -> dict[str, Any]:
    """The repair notice of one of the agency's listings (an administrator: of any)."""
    record = _record(session, principal, record_id)
    if record.list_type == "red":
        raise RepairNotApplicable("a red listing is an incentive: there is nothing to repair")
    court = record.domain_code == ingest.COURT_DOMAIN
    earliest: date | None = None
    if court:
        when = (
            "被执行人履行生效法律文书确定的义务、达成执行和解或有其他法定事由的，人民法院在三个工作日内"
            "删除失信信息，无需等待公示期满（法释〔2017〕7号 第十条）"
        )
    else:
        policy = publicity.publicity_rules(session).policy_for(
            record.domain_code, record.severity, record.list_type
        )
        earliest = add_months(record.decision_date, policy.repair_after_months)
        when = f"自 {earliest:%Y年%m月%d日} 起（最短公示期满）可以申请信用修复"
    return {
        "title": "信用修复告知书",
        "record_id": record.id,
        "issued_on": china_today(),
        "subject": {
            "kind": record.subject.kind,
            "name": record.subject_name,
            "identifier": record.subject.identifier,
        },
        "designating_agency": {"code": record.agency.code, "name_zh": record.agency.name_zh},
        "domain": record.domain_code,
        "list_type": record.list_type,
        "severity": record.severity,
        "decision_no": record.decision_no,
        "decision_date": record.decision_date,
        "publicity_end": record.publicity_end,
        "earliest_repair_date": earliest,
        "earliest_repair": when,
        "conditions": COURT_CONDITIONS if court else CONDITIONS,
        "channel": {
            "web": f"{base_url}/records/{record.id}/repair",
            "api": f"POST {base_url}/v1/public/repairs",
            "decision_within_workdays": DECISION_WORKDAYS,
        },
        "query": {"web": f"{base_url}/", "progress": f"{base_url}/progress"},
    }


def render_pdf(notice: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = cjk_font(get_settings().report_font)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=28, alignment=1)
    heading = ParagraphStyle("heading", parent=body, fontSize=12.5, leading=22, spaceBefore=6)
    signature = ParagraphStyle("signature", parent=body, alignment=2)
    # Addresses in a Latin monospace, on lines of their own, so that they are copied whole.
    address = ParagraphStyle("address", fontName="Courier", fontSize=9, leading=14, leftIndent=8 * mm)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    subject, agency, channel = notice["subject"], notice["designating_agency"], notice["channel"]
    end = notice["publicity_end"]
    period = f"公示期至 {end:%Y年%m月%d日}" if end else "无固定期限，至履行完毕时止"
    listed = LIST_ZH.get(notice["list_type"], notice["list_type"])
    story: list[Any] = [
        para("信用修复告知书", title),
        Spacer(1, 4 * mm),
        para(f"{subject['name']}（{subject['identifier']}）："),
        para(
            f"根据{agency['name_zh']}于 {notice['decision_date']:%Y年%m月%d日} 作出的"
            f"{notice['decision_no']}，你（单位）已被列入{listed}（{period}）。"
            "现将信用修复的有关事项告知如下。"
        ),
        para("一、可以申请信用修复的时间", heading),
        para(notice["earliest_repair"] + "。"),
        para("二、信用修复的条件", heading),
        *(para(f"{i}. {c['zh']}") for i, c in enumerate(notice["conditions"], start=1)),
        para("三、申请渠道", heading),
        para("在线填写信用修复申请："),
        para(channel["web"], address),
        para(f"或通过信息系统接口提交（记录编号 {notice['record_id']}）："),
        para(channel["api"], address),
        para(f"认定部门自受理之日起 {channel['decision_within_workdays']} 个工作日内作出决定。"),
        para("四、查询地址", heading),
        para("信用信息一站式查询："),
        para(notice["query"]["web"], address),
        para("凭查询码查看办理进度："),
        para(notice["query"]["progress"], address),
        Spacer(1, 10 * mm),
        para(agency["name_zh"], signature),
        para(f"{notice['issued_on']:%Y年%m月%d日}", signature),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"信用修复告知书 {notice['record_id']}",
        author=agency["name_zh"],
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    document.build(story)
    return buffer.getvalue()
