"""The extracts as GET /v1/extracts lists them."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["full", "delta"]


class ExtractOut(BaseModel):
    date: dt.date
    kind: Kind
    count: int = Field(description="Lines: records (full) or changes (delta)")
    sha256: str = Field(description="SHA-256 (hex) of the gzipped file, as served")
    ndjson_sha256: str = Field(description="SHA-256 (hex) of the NDJSON inside")
    bytes: int
    previous: dt.date | None = Field(description="A delta: the day of the full extract it applies to")
    made_at: dt.datetime
    url: str
    manifest_url: str
    signature: str = Field(description="The day's manifest: a compact JWS (ES256) verifiable with the JWKS")
