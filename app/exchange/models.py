"""The index of the daily extracts: one row per file written (the files live in the extracts
directory; see app.exchange.extracts)."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Extract(Base):
    __tablename__ = "extracts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "full" | "delta"
    count: Mapped[int] = mapped_column(Integer)  # lines
    sha256: Mapped[str] = mapped_column(String(64))  # of the gzipped file
    ndjson_sha256: Mapped[str] = mapped_column(String(64))  # of the NDJSON inside
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of the gzipped file
    # A delta: the day of the full extract it applies to.
    previous: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Relative to the extracts directory.
    path: Mapped[str] = mapped_column(String(200))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The day's manifest, a compact JWS by the registry key (the same for the day's full and delta).
    manifest: Mapped[str] = mapped_column(Text)
