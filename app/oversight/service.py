"""Who looked (国办发〔2020〕49号: strict query permissions, and a log that is read): the government
view's reads (app.audit.access), approvers' checks (app.checks) and the decisions watchlists made
for them (app.monitoring's alerts), in one time line."""

import uuid
from datetime import datetime
from typing import Any, Protocol

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


class Entries(Protocol):
    """Entries of another source in time order after a (time, id) position (the watchlists' alerts:
    app.monitoring.service.alerts_for_oversight, wired by app.main; a feature beside this one)."""

    def __call__(
        self,
        session: Session,
        *,
        identifier: str | None,
        client_id: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[dict[str, Any]]: ...


def access_log(
    session: Session,
    *,
    identifier: str | None,
    client_id: str | None,
    after: str | None,
    limit: int,
    alerts: Entries,
) -> tuple[list[dict[str, Any]], str | None]:
    """Reads, checks and watchlists' alerts in time order after the cursor, at most `limit`, and the
    cursor to go on from."""
    position = parse_cursor(after)
    # An identifier the registry knows no subject by may still have been checked or watched.
    normal = identifier.strip().upper() if identifier else None
    subject_id = records.subject_id_of(session, normal) if normal else None
    reads = access.entries(
        session, subject_id=subject_id, identifier=normal, client_id=client_id, after=position, limit=limit
    )
    asked = checks.checks_after(
        session,
        identifier=normal,
        client_id=client_id,
        after=position,
        limit=limit,
    )
    alerted = alerts(
        session,
        identifier=normal,
        client_id=client_id,
        after=position,
        limit=limit,
    )
    merged = sorted(reads + asked + alerted, key=lambda item: (item["at"], str(item["id"])))[:limit]
    for item in merged:
        item["cursor"] = f"{item['at'].isoformat()}_{item['id']}"
    return merged, merged[-1]["cursor"] if merged else after
