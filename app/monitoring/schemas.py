from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.text import text
from app.records.schemas import ChangeOut
from app.rules.schemas import Action

__all__ = ["ChangeOut"]  # re-exported: a subscriber receives the change feed's items

MAX_IDENTIFIERS = 100_000

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200)]
CallbackUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class WatchlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: text(200)  # type: ignore[valid-type]
    action: Action = Field(description="What the approver is about to do: the decision watched is for it")
    identifiers: list[Identifier] = Field(
        default_factory=list,
        max_length=MAX_IDENTIFIERS,
        description="Unified social credit codes or resident identity numbers, validated in full "
        f"(at most {MAX_IDENTIFIERS:,})",
    )
    callback_url: CallbackUrl | None = Field(
        default=None, description="Alerts are POSTed here (http or https), signed with `secret`"
    )
    secret: Secret | None = Field(
        default=None,
        description="Key of the X-Registry-Signature HMAC-SHA256 (16 to 200 characters); "
        "required with callback_url, never shown again",
    )


class IdentifiersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[Identifier] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)
    remove: list[Identifier] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    failed: int


class WatchlistOut(BaseModel):
    id: str
    name: str
    action: str
    agency: str
    identifier_count: int
    callback_url: str | None
    created_at: datetime
    deliveries: DeliveryCounts
    # GET only; the first 1,000 identifiers (all of them, paged: GET /v1/watchlists/{id}/identifiers).
    identifiers: list[str] | None = None


class WatchedOut(BaseModel):
    identifier: str
    decision: str = Field(description="What a check for the watchlist's action answers now, as last decided")
    since: datetime = Field(description="When that decision was last stored (the baseline or the last alert)")


class WatchedPage(BaseModel):
    items: list[WatchedOut]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last one")


class IdentifiersOut(BaseModel):
    added: int
    removed: int
    identifier_count: int


class AlertOut(BaseModel):
    id: str
    cursor: str
    watchlist_id: str
    identifier: str
    event: str = Field(
        description="The change that caused it: record.created, record.revoked, rule.retired, ..."
    )
    decision_before: str
    decision_after: str
    record_id: str | None
    at: datetime
    check: dict[str, Any] = Field(description="The new decision exactly as POST /v1/checks answers it")
    receipt: str = Field(description="A check receipt of the new decision (JWS, or batch receipt)")


class AlertsOut(BaseModel):
    items: list[AlertOut]
    next: str | None


class DeliveryOut(BaseModel):
    id: str
    alert_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]
    next: str | None


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: CallbackUrl
    secret: Secret
    after: Annotated[str, StringConstraints(pattern=r"^\d{1,18}$")] | None = Field(
        default=None,
        description='Start after this change-feed cursor (default: from now on; "0": from the beginning)',
    )


class SubscriptionOut(BaseModel):
    id: str
    callback_url: str
    status: Literal["active", "failed"]
    cursor: str = Field(description="The last change acknowledged")
    attempts: int
    next_attempt_at: datetime | None
    failing_since: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
