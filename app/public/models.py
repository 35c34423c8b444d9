"""Credit reports issued to the public: what was issued, its digest, and the registry's signature."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime


class PublicReport(Base):
    __tablename__ = "public_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # None for a special report of an organisation the registry has no record of (a clean one).
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), index=True, nullable=True)
    # A special report's request (organisation, domains, years), hashed: asked again the same day,
    # the report already issued is the answer.
    request_key: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    format: Mapped[str] = mapped_column(String(8))  # pdf | json | special
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # SHA-256 of the exact bytes sent: one changed byte and the report no longer verifies.
    sha256: Mapped[str] = mapped_column(String(64))
    # Compact JWS (ES256, the registry's KeyRing) over {report_id, sha256, issued_at, subject}.
    signature: Mapped[str] = mapped_column(Text)
    # What the report said in brief (masked identifier, counts), for the verification answer.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
