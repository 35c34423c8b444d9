"""API clients: an agency's systems, each with its own secret and scopes."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_id


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of a 256-bit random secret: the secret is never stored, and is shown once at creation.
    secret_hash: Mapped[str] = mapped_column(String(64))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
