"""Who looked (国办发〔2020〕49号: strict query permissions, and a log that is read): the government
view's reads (app.audit.access) and approvers' checks (app.checks), in one time line."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit import access
from app.checks import service as checks
from app.errors import ValidationFailed
from app.records import repository as records

MAX_LIMIT = 1000


def parse_cursor(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    """`<instant>_<id>` of the last entry the reader has."""
    if not after:
        return None
    try:
        at, entry_id = after.rsplit("_", 1)
        return datetime.fromisoformat(at), uuid.UUID(entry_id)
    except ValueError:
        raise ValidationFailed.one("after", "not a cursor this log gave (use an item's `cursor`)") from None


def access_log(
    session: Session, *, identifier: str | None, client_id: str | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Reads and checks in time order after the cursor, at most `limit`, and the cursor to go on from."""
    position = parse_cursor(after)
    subject_id: uuid.UUID | None = None
    if identifier is not None:
        subject_id = records.subject_id_of(session, identifier)
        if subject_id is None:
            return [], after
    reads = access.entries(session, subject_id=subject_id, client_id=client_id, after=position, limit=limit)
    asked = checks.checks_after(
        session,
        identifier=identifier.strip().upper() if identifier else None,
        client_id=client_id,
        after=position,
        limit=limit,
    )
    merged = sorted(reads + asked, key=lambda item: (item["at"], str(item["id"])))[:limit]
    for item in merged:
        item["cursor"] = f"{item['at'].isoformat()}_{item['id']}"
    return merged, merged[-1]["cursor"] if merged else after
