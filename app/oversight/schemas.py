"""The access log as the credit office reads it."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AccessItem(BaseModel):
    cursor: str
    id: uuid.UUID
    at: datetime
    kind: Literal["read", "check", "alert"]
    what: str = Field(
        description="subject, record, records, history, changes, watchlist_items, watchlist_alerts...; "
        "check; or watchlist_alert (a watchlist's decision about the identifier, its webhook's too)"
    )
    client_id: str
    agency: str
    action: str = Field(description="The approver's action, or government_view for a read given none")
    reference: str | None
    subject_id: uuid.UUID | None
    identifier: str | None
    record_id: uuid.UUID | None = None
    decision: str | None = None


class AccessLogOut(BaseModel):
    items: list[AccessItem]
    next: str | None
