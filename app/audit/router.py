from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.audit import service
from app.auth.deps import AuditRead
from app.db import DbSession

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    seq: int
    at: Any
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next: str


class VerificationOut(BaseModel):
    valid: bool
    last_seq: int
    broken_at: int | None = None
    reason: str | None = None
    detail: str | None = None
    altered_records: list[str] | None = None
    altered_count: int | None = None


class CheckpointOut(BaseModel):
    seq: int
    hash: str
    at: str
    checkpoint: str


MAX_CHECKPOINTS = 1000


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoints: list[Annotated[str, StringConstraints(max_length=4096)]] = Field(
        default_factory=list, max_length=MAX_CHECKPOINTS
    )


@router.get("/v1/admin/audit", response_model=AuditPageOut)
def audit_entries(
    principal: AuditRead,
    session: DbSession,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The seq of the last entry you have")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    entries = service.entries_after(session, after, limit)
    items = [
        {
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": entry.entity_id,
            "payload": service.parse_payload(entry.payload),
            "hash": entry.hash,
        }
        for entry in entries
    ]
    return {"items": items, "next": str(entries[-1].seq if entries else after)}


def _verify(request: Request, checkpoints: list[service.Checkpoint]) -> dict[str, Any]:
    # The record check is wired by create_app (app.records.integrity): audit imports no records.
    state = request.app.state
    verdict = service.verify_snapshot(checkpoints, state.audit_record_check, state.audit_rules_check)
    return asdict(verdict)


@router.get("/v1/admin/audit/verify", response_model=VerificationOut, response_model_exclude_none=True)
def verify_audit(principal: AuditRead, request: Request) -> Any:
    """Recompute the whole hash chain; name the first entry altered, removed or moved, then any
    record row that differs from what its last audit entry recorded."""
    return _verify(request, [])


@router.post("/v1/admin/audit/verify", response_model=VerificationOut, response_model_exclude_none=True)
def verify_audit_against(principal: AuditRead, request: Request, body: VerifyIn) -> Any:
    """As the GET, and hold the chain against checkpoints kept outside the registry: an entry that is
    gone (a cut-off tail) or differs (a re-written chain) is a `checkpoint_mismatch`."""
    return _verify(request, service.read_checkpoints(body.checkpoints))


@router.get("/v1/admin/audit/checkpoint", response_model=CheckpointOut)
def audit_checkpoint(principal: AuditRead, session: DbSession) -> Any:
    """The chain's head (seq and hash) signed with the registry's key (JWKS), for outside parties
    to keep and later hand to POST /v1/admin/audit/verify."""
    return service.issue_checkpoint(session)
