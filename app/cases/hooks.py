"""Where cases hook into every change: the audit log's append (app.audit.service.on_append). A
deadline the working-day calendar could not tell when a case was opened is set once the calendar
knows: a year's schedule loaded, or a day set."""

from app.audit import service as audit
from app.cases.service import fill_unknown_deadlines


def install() -> None:
    """Idempotent: the app and the console script both call it."""
    audit.on_append(fill_unknown_deadlines)
