import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.auth.deps import Authenticated
from app.db import ReadSession
from app.kit.dates import IsoDate
from app.stats import service

router = APIRouter(tags=["administration"])


class StatsCounts(BaseModel):
    listed: int
    late_disclosures: int
    exited: dict[str, int] = Field(description="By reason: expired, repaired, revoked")
    repairs: dict[str, int] = Field(description="By status: submitted, approved, rejected")
    objections: dict[str, int] = Field(description="By status: submitted, corrected, revoked, dismissed")
    checks: dict[str, int] = Field(description="By decision")


class StatsRow(StatsCounts):
    domain: str = Field(description='"": checks whose decision no record decided (clear)')
    agency: str


class StatsOut(BaseModel):
    plan: str | None
    from_: date = Field(alias="from")
    to: date
    rows: list[StatsRow]
    totals: StatsCounts


# The CSV form is one line per row of the JSON form, nested counts flattened into columns.
_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.get("/v1/stats", response_model=StatsOut, responses=_CSV)
def statistics(
    principal: Authenticated,
    session: ReadSession,
    plan: Annotated[str | None, Query(description="A plan code: only its domains")] = None,
    from_: Annotated[
        IsoDate | None, Query(alias="from", description="First day (China time); default 1 January")
    ] = None,
    to: Annotated[IsoDate | None, Query(description="Last day (China time); default today")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Per domain and agency: records listed, exits by reason, repairs, objections, late disclosures.

    For administrators (`admin`) over every domain, and for lead units over the domains they lead.
    """
    report = service.statistics(session, principal, plan, from_, to)
    if format == "json":
        return report
    buffer = io.StringIO()
    csv.writer(buffer).writerows(service.as_csv_rows(report))
    return Response(
        buffer.getvalue().encode("utf-8-sig"),  # Excel opens UTF-8 CSV correctly with a BOM
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="registry-stats.csv"'},
    )
