"""Web pages in Chinese: search, entity, report, repair and objection forms, progress by query code.

Server-rendered (Jinja2), plain HTML forms: they work without JavaScript and on a phone. The forms
go through the same services as the public API; a refused form is shown again with the error in
plain Chinese next to the field, and nothing of it is stored.

Pages run no script and only their own style sheet (CONTENT_SECURITY_POLICY); every form that
posts carries a token that must match the browser's cookie, so another site cannot post it.
"""

import base64
import hashlib
import re
import secrets
import tomllib
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from app.cases import errors as case_errors
from app.cases import service as cases
from app.cases.errors import CaseAlreadyOpen, FileTooLarge, MinimumPeriodNotElapsed, UnsupportedFileType
from app.cases.schemas import AppealIn, ObjectionIn, RepairIn
from app.config import get_settings
from app.db import DbSession
from app.errors import NotFound, RegistryError, ValidationFailed
from app.kit.clock import CHINA, china_today
from app.kit.identifiers import looks_personal, typed_code, validate_uscc
from app.kit.limits import Refused, json_refusal
from app.notices import service as notices
from app.notices.errors import NoticeClosed, StatementAlreadyGiven, StatementTooLate
from app.notices.schemas import StatementIn
from app.public import report, search, view
from app.ratelimit import limiter
from app.records import history, repository
from app.records.errors import RecordNotActive
from app.records.schemas import LISTING_BASIS_ZH

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals |= {
    "KIND_ZH": view.KIND_ZH,
    "LIST_ZH": view.LIST_ZH,
    "LISTING_BASIS_ZH": LISTING_BASIS_ZH,
    "SEVERITY_ZH": view.SEVERITY_ZH,
    "CHINA": CHINA,
}

EVIDENCE_ZH = {
    "obligation_met": "已履行法定义务",
    "fine_paid": "已缴纳罚款",
    "training_completed": "已参加信用修复培训",
    "conduct_corrected": "已纠正失信行为",
    "other": "其他",
}
OBJECTION_REASON_ZH = {
    "inaccurate": "信息有误",
    "not_mine": "不是本人/本单位",
    "should_not_be_published": "依法不应公示",
    "past_its_period": "已超过公示期",
    "other": "其他",
}
STATUS_ZH = {
    "submitted": "已受理，办理中",
    "approved": "修复申请已批准",
    "rejected": "修复申请未获批准",
    "corrected": "异议成立，记录已更正",
    "revoked": "异议成立，记录已撤销",
    "dismissed": "异议不成立",
}
APPEAL_STATUS_ZH = {
    "submitted": "已受理，信用办复核中",
    "upheld": "申诉成立，准予信用修复",
    "dismissed": "申诉不成立，维持原决定",
}
templates.env.globals |= {
    "EVIDENCE_ZH": EVIDENCE_ZH,
    "OBJECTION_REASON_ZH": OBJECTION_REASON_ZH,
    # Who runs the site, for every page's footer (REGISTRY_OPERATOR_*, REGISTRY_PRIVACY_URL).
    "site": get_settings,
}

# Evidence uploaded with the repair form (app.cases.service keeps the limits): shown on the form.
FORM_FILES = 5  # on the form itself; more from the progress page, up to the case's cap
EVIDENCE_LIMITS = {
    "types": "PDF、JPEG、PNG",
    "accept": "application/pdf,image/jpeg,image/png",
    "file_mb": cases.MAX_FILE_BYTES // (1024 * 1024),
    "form_files": FORM_FILES,
    "case_files": cases.MAX_FILES_PER_CASE,
}


def _load_repair_guide() -> tuple[list[str], dict[str, list[str]]]:
    """信用修复指南 (app/public/repair_guide.toml): the common materials, and each domain's own."""
    guide = tomllib.loads((Path(__file__).parent / "repair_guide.toml").read_text("utf-8"))
    return guide["common"]["materials"], {
        code: entry["materials"] for code, entry in guide.get("domains", {}).items()
    }


REPAIR_COMMON, REPAIR_BY_DOMAIN = _load_repair_guide()


def repair_guide(domain: str) -> list[str]:
    return [*REPAIR_COMMON, *REPAIR_BY_DOMAIN.get(domain, [])]


class PageError(Exception):
    """A page-level refusal shown as a Chinese page instead of the API's JSON error."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code, self.message, self.headers = status_code, message, headers or {}


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return templates.TemplateResponse(
        request, "error.html", {"message": exc.message}, status_code=exc.status_code, headers=exc.headers
    )


def _style_sources() -> str:
    # The templates' <style> blocks are static text: their hashes allow them and nothing else.
    blocks = {
        block
        for template in sorted(TEMPLATES.glob("*.html"))
        for block in re.findall(r"<style>(.*?)</style>", template.read_text("utf-8"), re.S)
    }
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
        for block in sorted(blocks)
    )


# No scripts, no style attributes, nothing from elsewhere, forms post only here, never in a frame.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_style_sources()}; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

# Forms carry a token equal to the browser's own cookie (double submit). Another site can make a
# browser post a form here, but cannot read or set this site's cookie, and a SameSite=Strict cookie
# is not even sent with a post from another site.
CSRF_COOKIE = "registry_form"
CSRF_FIELD = "csrf_token"
_CSRF_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE, "")
    if not _CSRF_SHAPE.match(token):
        token = getattr(request.state, "new_csrf_token", None) or secrets.token_urlsafe(32)
        request.state.new_csrf_token = token
    return token


async def csrf_checked(request: Request) -> None:
    """Dependency of every form post: refused (403, a Chinese page, nothing stored) without the token."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    submitted = (await request.form()).get(CSRF_FIELD)
    if not (
        isinstance(submitted, str)
        and _CSRF_SHAPE.match(cookie)
        and secrets.compare_digest(cookie.encode(), submitted.encode())
    ):
        raise PageError(
            403,
            "表单已失效，或不是从本站页面提交的，未予受理。请重新打开本站页面填写后提交"
            "（浏览器需允许本站保存 Cookie）。",
        )


def refusal(scope: Scope, refused: Refused) -> Response:
    """A request body refused as it arrived (app.kit.limits): a Chinese page on the pages' own
    paths, the API's JSON error everywhere else."""
    if not any(route.matches(scope)[0] is not Match.NONE for route in router.routes):
        return json_refusal(scope, refused)
    if refused.status_code == 413:
        size = max(1, (refused.limit or 0) // (1024 * 1024))
        message = f"提交的内容过大（不能超过 {size} MB），未予受理。"
    else:
        message = "提交超时：内容未能在规定时间内传完，未予受理，请重新提交。"
    return templates.TemplateResponse(
        Request(scope), "error.html", {"message": message}, status_code=refused.status_code
    )


async def page_rate_limited(request: Request) -> None:
    address = request.client.host if request.client else "unknown"
    wait = await limiter().hit(address)
    if wait is not None:
        raise PageError(429, f"访问过于频繁，请 {wait} 秒后再试。", {"Retry-After": str(wait)})


router = APIRouter(include_in_schema=False, dependencies=[Depends(page_rate_limited)])


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    token = _csrf_token(request)
    page = templates.TemplateResponse(request, name, context | {"csrf_token": token}, status_code=status_code)
    if getattr(request.state, "new_csrf_token", None) == token:
        page.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
    return page


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, q: str = "") -> HTMLResponse:
    """一站式查询: the search box, and its results when a query was given."""
    # An identity number typed in is not echoed back whole (the page may be shared or cached).
    shown = view.scrub(q)
    context: dict[str, Any] = {
        "q": q if shown == q else "",
        "shown_q": shown,
        "results": None,
        "errors": {},
        "special_key": None,
    }
    if q.strip():
        try:
            context["results"] = search.search(session.connection(), q[:100], search.MAX_LIMIT, china_today())
        except ValidationFailed:
            context["errors"]["q"] = "请至少输入两个字的名称，或完整的统一社会信用代码。"
        else:
            # A miss is not a clean bill: an organisation asked for by its full code gets the link to
            # its special report, which states per domain what is and is not on record.
            if not context["results"]["items"]:
                context["special_key"] = _organisation_code(q)
    return _page(request, "index.html", context, 422 if context["errors"] else 200)


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request) -> HTMLResponse:
    """隐私声明: what the site publishes, what it keeps of what people send, and whom to ask."""
    return _page(request, "privacy.html", {})


def _organisation_code(q: str) -> str | None:
    """The query as a valid unified social credit code (GB 32100-2015), or None; never a resident
    identity number that is not also a valid code (app.kit.identifiers.looks_personal: one that is
    both names an organisation, and the lookups reach organisations only)."""
    code = typed_code(q)
    if looks_personal(code):
        return None
    try:
        return validate_uscc(code)
    except ValueError:
        return None


@router.get("/subjects/{ref}", response_class=HTMLResponse)
def subject_page(ref: str, request: Request, session: DbSession) -> HTMLResponse:
    subject = view.public_subject(session.connection(), ref, china_today())
    if subject is None:
        raise PageError(404, "未查询到该主体的公示信息。")
    return _page(request, "subject.html", {"subject": subject, "today": china_today()})


def _record_or_404(session: DbSession, record_id: uuid.UUID) -> dict[str, Any]:
    """The record as the forms show it: in public force, its public face; in force but not published
    (shared, restricted, a minor's), its id alone, so that its subject can still apply through the
    link its repair notice gives (the record's content is not shown to whoever holds the link);
    exited or unknown, a 404."""
    today = china_today()
    record = view.public_record(session.connection(), record_id, today)
    if record is not None:
        return record
    stored = repository.find_record(session, record_id)
    if stored is None or history.effective_status(stored.status, stored.publicity_end, today) != "active":
        raise PageError(404, "该记录不在公示期内，无需也无法在此提出申请。")
    return {"id": record_id, "withheld": True, "domain": None, "domain_name_zh": None, "subject": None}


_FIELD_MESSAGES = {
    "missing": "请填写此项。",
    "string_too_short": "请填写此项。",
    "literal_error": "请从列表中选择一项。",
    "too_short": "请填写此项。",
}


def _chinese_errors(exc: ValidationError, fields: dict[tuple[str | int, ...], str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = fields.get(loc) or fields.get(loc[:1]) or "form"
        if error["type"] == "string_too_long":
            message = f"内容过长，最多 {error.get('ctx', {}).get('max_length', '')} 个字。"
        else:
            message = _FIELD_MESSAGES.get(error["type"], "填写有误，请检查。")
        errors.setdefault(field, message)
    return errors


def _case_errors(exc: RegistryError, kind: str) -> dict[str, str]:
    if isinstance(exc, MinimumPeriodNotElapsed):
        first = exc.extra.get("first_allowed_date")
        if not first:  # a record not published: the day is in the subject's repair notice
            return {"form": "该记录尚未满最短公示期，请于信用修复告知书载明的日期之后申请信用修复。"}
        return {"form": f"该记录尚未满最短公示期，最早可于 {first} 申请信用修复。"}
    if isinstance(exc, CaseAlreadyOpen):
        what = "信用修复申请" if kind == "repair" else "异议"
        return {"form": f"相同的{what}已经提交，正在办理，请凭当时取得的查询码查看进度。"}
    if isinstance(exc, RecordNotActive):
        return {"form": "该记录已不在公示中，无需申请。"}
    if isinstance(exc, ValidationFailed) and kind == "repair":
        fields = {f["field"]: f["detail"] for f in exc.extra.get("fields", [])}
        if "record_id" in fields:
            return {"form": "信用修复只适用于黑名单和重点关注名单记录。"}
        if "commitment" in fields:
            return {"commitment": "请阅读并勾选信用承诺。"}
    if isinstance(exc, NotFound):
        return {"form": "未找到该记录。"}
    return {"form": "申请未能提交，请检查后重试。"}


def _repair_context(
    session: DbSession, record: dict[str, Any], form: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    # NDRC Order No. 36 / 国家发展改革委令2023年第58号: repair only after the minimum publicity period;
    # before that day the page says when, and shows no form.
    # A record not published: its first day (which tells its decision date and severity) is in the
    # subject's repair notice, not on a page anyone with the link opens; the service still refuses
    # an application made too early.
    opens_on = None if record.get("withheld") else cases.repair_opens_on(session, record["id"])
    return {
        "record": record,
        "form": form,
        "errors": errors,
        "opens_on": opens_on,
        "not_yet": opens_on is not None and china_today() < opens_on,
        "guide": repair_guide(record["domain"] or ""),
        "limits": EVIDENCE_LIMITS,
    }


@router.get("/records/{record_id}/repair", response_class=HTMLResponse)
def repair_form(record_id: uuid.UUID, request: Request, session: DbSession) -> HTMLResponse:
    record = _record_or_404(session, record_id)
    return _page(request, "repair.html", _repair_context(session, record, {}, {}))


async def chosen_files(request: Request) -> list[StarletteUploadFile]:
    """The files of a form's `files` input (the form is parsed once; csrf_checked read it first).
    A file input left empty still sends a part, with no name and no bytes: not a file."""
    form = await request.form()
    return [
        part
        for part in form.getlist("files")
        if isinstance(part, StarletteUploadFile) and (part.filename or part.size)
    ]


def _file_error(exc: RegistryError, filename: str) -> str:
    name = filename or "文件"
    if isinstance(exc, FileTooLarge):
        return f"“{name}”超过 {EVIDENCE_LIMITS['file_mb']} MB，未予受理。"
    if isinstance(exc, UnsupportedFileType):
        return f"“{name}”不是 PDF、JPEG 或 PNG 文件，未予受理。"
    if isinstance(exc, ValidationFailed) and "empty" in exc.detail:
        return f"“{name}”是空文件，未予受理。"
    return f"“{name}”未能上传：每件申请最多 {EVIDENCE_LIMITS['case_files']} 个文件。"


def _attach(session: DbSession, case: Any, files: list[StarletteUploadFile]) -> str | None:
    """Store the files with the case (app.cases.service checks type, size and count); the first
    refusal's message, in Chinese, or None when all were stored."""
    for file in files:
        content = file.file.read(cases.MAX_FILE_BYTES + 1)
        try:
            cases.add_file(session, case, file.filename or "", file.content_type or "", content)
        except RegistryError as exc:
            return _file_error(exc, file.filename or "")
    return None


def _validated(
    model: type[RepairIn] | type[ObjectionIn], data: dict[str, Any], fields: dict[tuple[str | int, ...], str]
) -> tuple[Any, dict[str, str]]:
    """The form's data as the API's body, or the errors to show beside its fields (in Chinese)."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, _chinese_errors(exc, fields)


def _open_case(
    request: Request,
    session: DbSession,
    record: dict[str, Any],
    body: RepairIn | ObjectionIn,
    chosen: list[StarletteUploadFile],
) -> tuple[HTMLResponse | None, dict[str, str]]:
    """Open the repair or objection through the same service as the API, with the files chosen on
    the form, all or nothing: the confirmation page, or the errors to show on the form again."""
    kind = "repair" if isinstance(body, RepairIn) else "objection"
    try:
        if isinstance(body, RepairIn):
            opened = cases.apply_for_repair(session, body)
        else:
            opened = cases.raise_objection(session, body)
        refused = _attach(session, opened.case, chosen)
    except RegistryError as exc:
        session.rollback()  # nothing of a refused application is stored
        return None, _case_errors(exc, kind)
    if refused is not None:
        session.rollback()  # the application is stored whole, with its files, or not at all
        return None, {"files": refused + "请更换文件后重新提交，申请未提交。"}
    context = {
        "kind": kind,
        "query_code": opened.query_code,
        "due_by": opened.case.due_by,
        "record": record,
        "files": len(chosen),
    }
    return _page(request, "created.html", context, 201), {}


@router.post("/records/{record_id}/repair", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def repair_submit(
    record_id: uuid.UUID,
    request: Request,
    session: DbSession,
    chosen: Annotated[list[StarletteUploadFile], Depends(chosen_files)],
    applicant_name: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    evidence_kind: Annotated[str, Form()] = "",
    evidence_description: Annotated[str, Form()] = "",
    commitment: Annotated[str, Form()] = "",
) -> HTMLResponse:
    record = _record_or_404(session, record_id)
    form = {
        "applicant_name": applicant_name,
        "contact": contact,
        "statement": statement,
        "evidence_kind": evidence_kind,
        "evidence_description": evidence_description,
        "commitment": bool(commitment),
    }
    body, errors = _validated(
        RepairIn,
        {
            "record_id": record_id,
            "applicant": {"name": applicant_name, "contact": contact},
            "statement": statement,
            "commitment": bool(commitment),
            "evidence": [{"kind": evidence_kind or "other", "description": evidence_description}],
        },
        {
            ("applicant", "name"): "applicant_name",
            ("applicant", "contact"): "contact",
            ("statement",): "statement",
            ("evidence", 0, "kind"): "evidence_kind",
            ("evidence", 0, "description"): "evidence_description",
        },
    )
    if not commitment:
        errors["commitment"] = "请阅读并勾选信用承诺。"
    if len(chosen) > FORM_FILES:
        errors["files"] = f"本页一次最多上传 {FORM_FILES} 个文件，其余可在办理进度页补充。"
    if not errors:
        page, errors = _open_case(request, session, record, body, chosen)
        if page is not None:
            return page
    return _page(request, "repair.html", _repair_context(session, record, form, errors), 422)


@router.get("/records/{record_id}/objection", response_class=HTMLResponse)
def objection_form(record_id: uuid.UUID, request: Request, session: DbSession) -> HTMLResponse:
    record = _record_or_404(session, record_id)
    return _page(request, "objection.html", {"record": record, "form": {}, "errors": {}})


@router.post(
    "/records/{record_id}/objection", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)]
)
def objection_submit(
    record_id: uuid.UUID,
    request: Request,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
) -> HTMLResponse:
    record = _record_or_404(session, record_id)
    form = {"name": name, "contact": contact, "reason": reason, "statement": statement}
    body, errors = _validated(
        ObjectionIn,
        {"record_id": record_id, "name": name, "contact": contact, "reason": reason, "statement": statement},
        {("contact",): "contact", ("reason",): "reason", ("statement",): "statement", ("name",): "name"},
    )
    if "reason" in errors:
        errors["reason"] = "请选择异议理由。"
    if not errors:
        page, errors = _open_case(request, session, record, body, [])
        if page is not None:
            return page
    return _page(request, "objection.html", {"record": record, "form": form, "errors": errors}, 422)


def _progress_context(session: DbSession, code: str) -> dict[str, Any]:
    """The case a query code follows, its appeal, where its written decisions are downloaded, and
    whether the appeal form applies (a rejected repair, not yet appealed, within the deadline)."""
    context: dict[str, Any] = {
        "code": code,
        "case": None,
        "errors": {},
        "form": {},
        "STATUS_ZH": STATUS_ZH,
        "APPEAL_STATUS_ZH": APPEAL_STATUS_ZH,
    }
    if not code.strip():
        return context
    try:
        case = cases.case_by_query_code(session, code.strip())
    except NotFound:
        context["errors"]["code"] = "未找到该查询码对应的申请，请核对后重新输入。"
        return context
    appeal = cases.appeal_of(session, case) if case.kind == "repair" else None
    base = f"/v1/public/{'repairs' if case.kind == 'repair' else 'objections'}/{quote(code.strip(), safe='')}"
    # Evidence goes to the case while it is open, or to its pending appeal (app.cases.service).
    open_case = cases.case_for_files(session, code.strip())
    files_open = open_case.status == "submitted"
    context |= {
        "files_open": files_open,
        "files": cases.case_files(session, [open_case.id]).get(open_case.id, []) if files_open else [],
        "limits": EVIDENCE_LIMITS,
        "case": case,
        "reasons": cases.public_reason(case),
        "appeal": appeal,
        "appeal_reasons": cases.public_reason(appeal) if appeal is not None else None,
        "appeal_by": cases.appeal_deadline(session, case) if case.status == "rejected" else None,
        "may_appeal": cases.may_appeal(session, case),
        "decision_base": base if case.decided_at else None,
        "appeal_decision_base": f"{base}/appeal" if appeal is not None and appeal.decided_at else None,
    }
    return context


@router.get("/progress", response_class=HTMLResponse)
def progress(request: Request, session: DbSession, code: str = "") -> HTMLResponse:
    """办理进度: a repair or objection followed by its query code; its written decision once decided,
    and for a rejected repair the appeal form until the deadline."""
    context = _progress_context(session, code)
    return _page(request, "progress.html", context, 404 if context["errors"] else 200)


@router.post("/progress/files", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def progress_files(
    request: Request,
    session: DbSession,
    chosen: Annotated[list[StarletteUploadFile], Depends(chosen_files)],
    code: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """补充证明材料: evidence files added from the progress page while the case (or its appeal) is open."""
    context = _progress_context(session, code)
    if context["case"] is None:
        return _page(request, "progress.html", context, 404)
    if not context["files_open"]:
        context["errors"] = {"files": "该申请已办结，不能再补充材料。"}
        return _page(request, "progress.html", context, 409)
    if not chosen:
        context["errors"] = {"files": "请选择要上传的文件。"}
        return _page(request, "progress.html", context, 422)
    if len(chosen) > FORM_FILES:
        context["errors"] = {"files": f"一次最多上传 {FORM_FILES} 个文件。"}
        return _page(request, "progress.html", context, 422)
    refused = _attach(session, cases.case_for_files(session, code.strip()), chosen)
    if refused is not None:
        session.rollback()  # the files of one upload are stored together or not at all
        message = refused + "本次上传的文件均未保存。"
        context = _progress_context(session, code) | {"errors": {"files": message}}
        return _page(request, "progress.html", context, 422)
    context = _progress_context(session, code) | {"uploaded": len(chosen)}
    return _page(request, "progress.html", context, 201)


@router.post("/progress/appeal", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def appeal_submit(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """申诉: a rejected repair appealed to the credit office from its progress page."""
    context = _progress_context(session, code)
    if context["case"] is None:
        return _page(request, "progress.html", context, 404)
    context["form"] = {"contact": contact, "statement": statement}
    try:
        body = AppealIn.model_validate({"contact": contact, "statement": statement})
    except ValidationError as exc:
        context["errors"] = _chinese_errors(exc, {("contact",): "contact", ("statement",): "statement"})
        return _page(request, "progress.html", context, 422)
    try:
        cases.appeal(session, context["case"], body)
    except RegistryError as exc:
        session.rollback()  # nothing of a refused appeal is stored
        if isinstance(exc, case_errors.AppealPeriodOver):
            message = f"申诉期限已过（最后一日为 {exc.extra.get('appeal_by', '')}），未予受理。"
        elif isinstance(exc, case_errors.AlreadyAppealed):
            message = "该申请已提出过申诉，每件信用修复申请只能申诉一次。"
        elif isinstance(exc, case_errors.NotAppealable):
            message = "只有未获批准的信用修复申请可以申诉。"
        elif isinstance(exc, RecordNotActive):
            message = "该记录已不在公示中，无需申诉。"
        else:
            message = "申诉未能提交，请检查后重试。"
        context["errors"] = {"appeal": message}
        return _page(request, "progress.html", context, exc.status_code)
    context = _progress_context(session, code) | {"appealed": True}
    return _page(request, "progress.html", context, 201)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(report_id: str, request: Request, session: DbSession) -> HTMLResponse:
    """报告核验 (the page a report's QR code opens): is this report genuine? Upload the file to
    check that it is unchanged. One verdict, in Chinese."""
    try:
        verification = report.verify(session, report_id)
    except NotFound:
        return _unknown_report(request, report_id)
    return _page(request, "report.html", {"v": verification, "upload_limit_mb": REPORT_UPLOAD_MB})


# A report file comes in under the upload limit of app.main (an evidence file's: 5 MiB).
REPORT_UPLOAD_MB = cases.MAX_FILE_BYTES // (1024 * 1024)


def _unknown_report(request: Request, report_id: str) -> HTMLResponse:
    return _page(
        request,
        "report.html",
        {"v": None, "report_id": report_id, "verdict_zh": report.VERDICT_ZH["unknown_report"]},
        404,
    )


@router.post("/reports/{report_id}", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def report_check_file(
    report_id: str, request: Request, session: DbSession, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    content = file.file.read(REPORT_UPLOAD_MB * 1024 * 1024)
    digest, problem = report.digest_of_file(content)
    try:
        verification = report.verify(session, report_id, digest, problem)
    except NotFound:
        return _unknown_report(request, report_id)
    return _page(
        request, "report.html", {"v": verification, "checked": True, "upload_limit_mb": REPORT_UPLOAD_MB}
    )


# --- 失信告知: the subject reads a notice before listing and states a defence (国办发〔2020〕49号 (八)) ---

NOTICE_STATUS_ZH = {
    "notified": "已告知，认定部门尚未作出决定",
    "finalized": "认定部门已作出列入决定",
    "withdrawn": "认定部门已撤回告知，不予列入",
    "expired": "告知已失效",
}
NOTICE_LIST_ZH = {"black": "失信主体名单（黑名单）", "focus": "重点关注名单"}


def _notice_page(
    request: Request,
    session: DbSession,
    code: str,
    form: dict[str, str],
    errors: dict[str, str],
    status: int,
    submitted: bool = False,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "code": code,
        "submitted": submitted,
        "notice": None,
        "form": form,
        "errors": errors,
        "STATUS_ZH": NOTICE_STATUS_ZH,
        "NOTICE_LIST_ZH": NOTICE_LIST_ZH,
    }
    if code.strip():
        try:
            context["notice"] = notices.public_view(session, notices.notice_by_code(session, code.strip()))
        except NotFound:
            context["errors"] = {"code": "未找到该查询码对应的告知，请核对后重新输入。"}
            status = 404
    return _page(request, "notice.html", context, status)


@router.get("/notices", response_class=HTMLResponse)
def notice_page(request: Request, session: DbSession, code: str = "") -> HTMLResponse:
    """失信告知: the notice by its query code, and the form to state a defence while it is open."""
    return _notice_page(request, session, code, {}, {}, 200)


@router.post("/notices", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def notice_statement(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
) -> HTMLResponse:
    form = {"statement": statement, "contact": contact}
    try:
        body = StatementIn.model_validate({"statement": statement, "contact": contact})
    except ValidationError as exc:
        errors = _chinese_errors(exc, {("statement",): "statement", ("contact",): "contact"})
        return _notice_page(request, session, code, form, errors, 422)
    try:
        notices.state_defence(session, code.strip(), body)
    except NotFound:
        return _notice_page(request, session, code, form, {}, 404)
    except (StatementAlreadyGiven, NoticeClosed, StatementTooLate) as exc:
        session.rollback()  # nothing of a refused statement is stored
        if isinstance(exc, StatementTooLate):
            message = f"陈述申辩期限已于 {exc.extra['respond_by']} 届满，不能再提交。"
        elif isinstance(exc, StatementAlreadyGiven):
            message = "已收到您的陈述申辩，每份告知只能提交一次。"
        else:
            message = "该告知已撤回或已办结，不能再提交陈述申辩。"
        return _notice_page(request, session, code, form, {"form": message}, exc.status_code)
    return _notice_page(request, session, code, {}, {}, 201, submitted=True)
