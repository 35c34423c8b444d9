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
from app.records.models import PublicityOverride, Record, RecordParty, Subject, SubjectSearch
from app.rules.models import Measure, Rule

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
    "Measure",
    "Notice",
    "Plan",
    "PublicReport",
    "PublicityOverride",
    "Record",
    "RecordParty",
    "Rule",
    "Subject",
    "SubjectSearch",
    "Subscription",
    "WatchItem",
    "Watchlist",
]
