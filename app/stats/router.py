import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.auth.deps import Authenticated
from app.db import ReadSession
from app.stats import service

router = APIRouter(tags=["administration"])


@router.get("/v1/stats")
def statistics(
    principal: Authenticated,
    session: ReadSession,
    plan: Annotated[str | None, Query(description="A plan code: only its domains")] = None,
    from_: Annotated[
        date | None, Query(alias="from", description="First day (China time); default 1 January")
    ] = None,
    to: Annotated[date | None, Query(description="Last day (China time); default today")] = None,
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
