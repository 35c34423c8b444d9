"""The change feed other platforms sync from: every change to every record, in order, from the audit
log (each entry carries the record's state after the change)."""

from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit


def changes(session: Session, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    entries = audit.entries_after(session, after, limit, entity_type="record")
    items = []
    for entry in entries:
        state = audit.parse_payload(entry.payload)
        items.append(
            {
                "cursor": str(entry.seq),
                "at": entry.at,
                "event": entry.action,
                "record_id": entry.entity_id,
                "agency": state.get("agency_code"),
                "domain": state.get("domain_code"),
                "status": state.get("status"),
                "version": state.get("version"),
            }
        )
    return items, entries[-1].seq if entries else after
