"""The change feed other platforms sync from: every change to every record, in order, from the audit
log (each entry carries the record's state after the change).

Restricted records are told "within a limited circle" (国办发〔2020〕49号): only their designating
agency and administrators see their events. Another reader learns only that a record it could see
has left its view (`record.withdrawn`), never a restricted record's id otherwise.
"""

from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Principal

WITHDRAWN = "record.withdrawn"


def changes(
    session: Session, principal: Principal, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` events after the cursor, as this reader may see them, and the cursor to ask
    from next (it moves past events the reader may not see, so fewer items may come back)."""
    entries = audit.entries_after(session, after, limit, entity_type="record")
    sees_all = principal.has(Scope.admin)
    items = []
    for entry in entries:
        state = audit.parse_payload(entry.payload)
        event = entry.action
        if state.get("visibility") == "restricted" and not (
            sees_all or state.get("agency_code") == principal.agency_code
        ):
            visibility_change = state.get("changes", {}).get("visibility")
            if not visibility_change or visibility_change[0] == "restricted":
                continue
            event, state = WITHDRAWN, {"agency_code": state.get("agency_code")}
        items.append(
            {
                "cursor": str(entry.seq),
                "at": entry.at,
                "event": event,
                "record_id": entry.entity_id,
                "agency": state.get("agency_code"),
                "domain": state.get("domain_code"),
                "status": state.get("status"),
                "version": state.get("version"),
            }
        )
    return items, entries[-1].seq if entries else after
