"""The written decision on a repair, an objection or an appeal (决定书), downloaded by query code.

The decision on a repair application is a written decision with its reasons, and a rejection tells
the applicant how to seek review (NDRC Order No. 36; 国办发〔2020〕49号: objections are checked and
answered). Its content is fixed when the case is decided (`Case.decision_document`): what the
subject downloads later is the decision as it was made, whatever happens to the record afterwards.

Verifiable like the credit reports: `sha256` is the SHA-256 of the canonical JSON of the document
without `sha256` and `signature` (keys sorted, no whitespace, UTF-8); `signature` is a compact JWS
(ES256, the registry's key, /.well-known/jwks.json) over {document_id, case_id, kind, outcome,
format, sha256}. The PDF's own signature, over the PDF's bytes, travels in `X-Decision-Signature`,
and the PDF prints the JSON document's digest. Neither carries the query code.
"""

import hashlib
import io
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from app.config import get_settings
from app.keys import get_keyring
from app.kit.clock import CHINA, china_date
from app.kit.masking import mask_resident_ids
from app.kit.pdffonts import cjk_font
from app.records.history import effective_status

if TYPE_CHECKING:
    from app.cases.models import Case
    from app.records.models import Record

TITLE_ZH = {"repair": "信用修复决定书", "objection": "异议处理决定书", "appeal": "信用修复申诉复核决定书"}
KIND_ZH = {"repair": "信用修复申请", "objection": "异议申请", "appeal": "信用修复申诉"}
OUTCOME_ZH = {
    "approved": "准予信用修复",
    "rejected": "不予信用修复",
    "corrected": "异议成立，更正记录",
    "revoked": "异议成立，撤销记录",
    "dismissed": "异议不成立，维持记录",
    "upheld": "申诉成立，准予信用修复",
}
APPEAL_DISMISSED_ZH = "申诉不成立，维持不予信用修复的决定"
LIST_ZH = {"black": "黑名单", "red": "红名单", "focus": "重点关注名单"}
SEVERITY_ZH = {"general": "一般", "serious": "严重", "minor": "轻微"}
SUBJECT_KIND_ZH = {
    "legal_person": "法人",
    "natural_person": "自然人",
    "other_org": "非法人组织",
    "individual_business": "个体工商户",
}
CREDIT_OFFICE_ZH = "社会信用体系建设联席会议办公室（信用办）"
BASIS = ["国办发〔2020〕49号", "国家发展改革委令第36号（失信行为纠正后的信用信息修复管理办法）"]
REMEDIES_ZH = "对本决定不服的，可以依法申请行政复议或者提起行政诉讼。"

# Fonts with Chinese glyphs are looked for here (scripts/setup installs fonts-wqy-zenhei); names that
# suggest CJK are tried first, and a font is used only if it has the glyphs.


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _china_day(value: datetime | None) -> str | None:
    return china_date(value).isoformat() if value is not None else None


EXITED_ZH = {"repaired": "信用修复", "expired": "公示期满", "revoked": "撤销", "exited": "履行义务等法定事由"}


def _next_steps(case: "Case", record: "Record", outcome: str) -> dict[str, Any]:
    """What follows from the decision: the record taken down and by when other platforms follow
    (3 working days: `exit_sync_by`), or, for a rejected repair, the appeal and its deadline."""
    if outcome in ("approved", "upheld", "revoked"):
        taken_down = _china_day(record.exited_at) or _china_day(case.decided_at)
        sync_by = _day(record.exit_sync_by)
        what = "撤销" if outcome == "revoked" else "信用修复"
        text = f"该记录已于 {taken_down} 因{what}停止公示、停止共享，相关惩戒措施同时解除；" + (
            f"其他平台应于 {sync_by} 前（含当日）同步撤下。"
            if sync_by
            else "其他平台应在 3 个工作日内同步撤下。"
        )
        return {
            "record_status": record.status,
            "taken_down_on": taken_down,
            "sync_by": sync_by,
            "text_zh": text,
        }
    assert case.decided_at is not None
    status = effective_status(record.status, record.publicity_end, china_date(case.decided_at))
    if status in EXITED_ZH:
        # The record left before this decision (another case, its agency, its period's end).
        exited_on = _china_day(record.exited_at) or _day(record.publicity_end)
        text = f"该记录已于 {exited_on} 因{EXITED_ZH[status]}退出，停止公示、停止共享，本决定不改变其状态。"
        return {"record_status": status, "exited_on": exited_on, "text_zh": text}
    if outcome == "rejected":
        appeal_by = _day(case.appeal_by)
        when = f"于 {appeal_by} 前（含当日）" if appeal_by else "自本决定作出之日起 10 个工作日内"
        text = (
            f"该记录继续公示。如对本决定有异议，可{when}凭查询码向{CREDIT_OFFICE_ZH}提出申诉（限一次），"
            "信用办自受理之日起 10 个工作日内作出复核决定，认定单位不参与复核；"
            "也可在纠正失信行为、履行法定义务后重新申请信用修复。"
        )
        return {
            "record_status": record.status,
            "appeal": {"to": "credit_office", "by": appeal_by, "once": True},
            "text_zh": text,
        }
    if outcome == "corrected":
        text = "该记录已按本决定更正，更正后的内容继续公示至公示期满。"
    else:  # dismissed: an objection or an appeal
        text = "该记录继续有效。"
    return {"record_status": record.status, "text_zh": f"{text}{REMEDIES_ZH}"}


WITHHELD_ZH = "该记录未向社会公示，本文书仅载明其记录编号，不载明其内容。"


def _next_steps_withheld(case: "Case") -> dict[str, Any]:
    """What follows, for a record the public did not see: nothing of its dates or how it exits."""
    if case.outcome == "rejected" and case.appeal_by is not None:
        appeal_by = _day(case.appeal_by)
        text = (
            f"如对本决定有异议，可于 {appeal_by} 前（含当日）凭查询码向{CREDIT_OFFICE_ZH}提出申诉（限一次）；"
            "也可在纠正失信行为、履行法定义务后重新申请信用修复。"
        )
        return {"appeal": {"to": "credit_office", "by": appeal_by, "once": True}, "text_zh": text}
    if case.outcome in ("approved", "upheld", "revoked"):
        return {"text_zh": "该记录停止共享，相关惩戒措施同时解除。"}
    return {"text_zh": f"本决定不改变该记录的状态。{REMEDIES_ZH}"}


def _record_part(
    record: "Record", agency_names: dict[str, str], domain_names: dict[str, str]
) -> dict[str, Any]:
    subject = record.subject
    return {
        "id": str(record.id),
        "domain": record.domain_code,
        "domain_name_zh": domain_names.get(record.domain_code, record.domain_code),
        "list_type": record.list_type,
        "severity": record.severity,
        # The public face: a person's identity number is never printed (49号: lawful and
        # necessary), whatever the subject's kind (an individual business may be known by its
        # owner's number), nor one written into a name or a reason.
        "subject": {
            "name": mask_resident_ids(record.subject_name),
            "kind": subject.kind,
            "identifier": None
            if subject.kind == "natural_person" or subject.identifier_type == "resident_id"
            else mask_resident_ids(subject.identifier),
        },
        "decision_no": mask_resident_ids(record.decision_no),
        "decision_date": _day(record.decision_date),
        "publicity_start": _day(record.publicity_start),
        "publicity_end": _day(record.publicity_end),
        "designating_agency": {
            "code": record.agency_code,
            "name_zh": agency_names.get(record.agency_code),
        },
    }


def content(
    case: "Case",
    record: "Record",
    agency_names: dict[str, str],
    domain_names: dict[str, str],
    published: bool = True,
) -> dict[str, Any]:
    """The decision as a JSON-native document (the PDF lays out the same). `published`: whether the
    public saw the record when the case was decided; the document of a case on a record it did not
    see (shared, restricted, a minor's, exited) names the record by its id alone, since whoever
    holds a query code may read it, and anyone who knows a record's id may open a case on it."""
    assert case.outcome is not None and case.decided_at is not None
    deciding = case.decided_by_agency or case.agency_code
    outcome_zh = OUTCOME_ZH[case.outcome]
    if case.kind == "appeal" and case.outcome == "dismissed":
        outcome_zh = APPEAL_DISMISSED_ZH
    return {
        "document": f"{case.kind}_decision",
        "title_zh": TITLE_ZH[case.kind],
        "document_id": str(case.id),
        "case": {
            "id": str(case.id),
            "kind": case.kind,
            "submitted_on": _china_day(case.submitted_at),
            "applicant": mask_resident_ids(case.applicant_name) if case.applicant_name else None,
            "appeal_of": str(case.appeal_of_id) if case.appeal_of_id else None,
        },
        "record": _record_part(record, agency_names, domain_names)
        if published
        else {"id": str(record.id), "withheld": True},
        "outcome": case.outcome,
        "outcome_zh": outcome_zh,
        "reasons": case.decision_reason and mask_resident_ids(case.decision_reason),
        "deciding_agency": {"code": deciding, "name_zh": agency_names.get(deciding)},
        "decided_at": case.decided_at.astimezone(CHINA).isoformat(),
        "decision_date": _china_day(case.decided_at),
        "next": _next_steps(case, record, case.outcome) if published else _next_steps_withheld(case),
        "basis": BASIS,
        "verification": {"digest": "sha256", "signature": "ES256", "jwks": "/.well-known/jwks.json"},
    }


def canonical(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def digest(document: dict[str, Any]) -> str:
    """The digest a JSON decision carries: over everything but its own `sha256` and `signature`."""
    return hashlib.sha256(
        canonical({key: value for key, value in document.items() if key not in ("sha256", "signature")})
    ).hexdigest()


def sign(document: dict[str, Any], fmt: str, sha256: str) -> str:
    claims = {
        "document_id": document["document_id"],
        "case_id": document["case"]["id"],
        "kind": document["case"]["kind"],
        "outcome": document["outcome"],
        "format": fmt,
        "sha256": sha256,
    }
    return get_keyring().sign_jws(claims)


def signed_json(document: dict[str, Any]) -> dict[str, Any]:
    sha256 = digest(document)
    return document | {"sha256": sha256, "signature": sign(document, "json", sha256)}


def _record_rows(record: dict[str, Any]) -> list[tuple[str, Any]]:
    subject = record["subject"]
    listed = LIST_ZH.get(record["list_type"], record["list_type"])
    severity = SEVERITY_ZH.get(record["severity"], record["severity"])
    period = f"{record['publicity_start']} 至 {record['publicity_end'] or '履行完毕之日'}"
    return [
        ("主体名称", subject["name"]),
        ("主体类型", SUBJECT_KIND_ZH.get(subject["kind"], subject["kind"])),
        (
            ("统一社会信用代码", subject["identifier"])
            if subject["identifier"]
            else ("身份证件号码", "（不予显示）")
        ),
        ("领域", record["domain_name_zh"]),
        ("名单", f"{listed}（{severity}）"),
        ("认定部门", record["designating_agency"]["name_zh"] or record["designating_agency"]["code"]),
        ("认定决定文号", record["decision_no"]),
        ("认定决定日期", record["decision_date"]),
        ("公示期", period),
        ("记录编号", record["id"]),
    ]


def render_pdf(document: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cjk_font(get_settings().report_font)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    small = ParagraphStyle(
        "small", parent=body, fontSize=8.5, leading=12, textColor=colors.HexColor("#444444")
    )
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    heading = ParagraphStyle("heading", parent=body, fontSize=12.5, leading=20, spaceBefore=8)

    def para(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    case, record = document["case"], document["record"]
    if record.get("withheld"):
        rows = [("记录编号", record["id"]), ("记录内容", WITHHELD_ZH)]
    else:
        rows = _record_rows(record)
    table = Table([[para(k), para(v)] for k, v in rows], colWidths=[34 * mm, 136 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    applicant = case["applicant"] or "（未署名）"
    story: list[Any] = [
        para(document["title_zh"], title),
        para(f"文书编号（案件编号）：{document['document_id']}", small),
        Spacer(1, 4 * mm),
        para("一、申请事项", heading),
        para(f"申请人 {applicant} 于 {case['submitted_on']} 提出{KIND_ZH[case['kind']]}。"),
    ]
    if case["appeal_of"]:
        story.append(para(f"所申诉的信用修复申请（案件编号）：{case['appeal_of']}"))
    story += [
        para("二、所涉记录", heading),
        table,
        para("三、决定", heading),
        para(f"决定结果：{document['outcome_zh']}"),
        para("四、理由", heading),
        para(document["reasons"] or ""),
        para("五、后续事项", heading),
        para(document["next"]["text_zh"]),
        Spacer(1, 8 * mm),
        para(
            f"作出决定的单位：{document['deciding_agency']['name_zh'] or document['deciding_agency']['code']}"
        ),
        para(f"决定日期：{document['decision_date']}"),
        Spacer(1, 8 * mm),
        para("核验", heading),
        para(
            f"本决定书电子文本（JSON）的 SHA-256 摘要：{digest(document)}。该摘要与本 PDF 文件的摘要均由"
            "登记系统以数字签名（ES256）签署，签名公钥见 /.well-known/jwks.json。本文件不含查询码。",
            small,
        ),
        para(f"依据：{'；'.join(document['basis'])}", small),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{document['title_zh']} {document['document_id']}",
        author="信用红黑名单登记系统",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,  # the same decision gives the same bytes
    ).build(story)
    return buffer.getvalue()
