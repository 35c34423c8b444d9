"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from app.audit.models import AccessEntry, AuditEntry
from app.auth.models import ApiClient
from app.cases.models import Case, CaseFile
from app.catalog.models import Agency, Assignment, CalendarOverride, CalendarYear, Domain, Plan
from app.checks.models import Check, CheckFeedback
from app.db import Base
from app.exchange.models import Extract
from app.monitoring.models import Alert, Delivery, Subscription, WatchItem, Watchlist
from app.notices.models import Notice
from app.public.models import PublicReport
from app.records.models import (
    IssuedReference,
    PublicityOverride,
    Record,
    RecordParty,
    Subject,
    SubjectMerge,
    SubjectSearch,
)
from app.rules.models import Measure, Rule
from app.screening.models import Screening

__all__ = [
    "AccessEntry",
    "Agency",
    "Alert",
    "ApiClient",
    "Assignment",
    "AuditEntry",
    "Base",
    "CalendarOverride",
    "CalendarYear",
    "Case",
    "CaseFile",
    "Check",
    "CheckFeedback",
    "Delivery",
    "Domain",
    "Extract",
    "IssuedReference",
    "Measure",
    "Notice",
    "Plan",
    "PublicReport",
    "PublicityOverride",
    "Record",
    "RecordParty",
    "Rule",
    "Screening",
    "Subject",
    "SubjectMerge",
    "SubjectSearch",
    "Subscription",
    "WatchItem",
    "Watchlist",
]
