from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

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


@router.get("/v1/admin/audit/verify", response_model=VerificationOut, response_model_exclude_none=True)
def verify_audit(principal: AuditRead, session: DbSession) -> Any:
    """Recompute the whole hash chain; name the first entry altered, removed or moved."""
    return service.verify(session)
