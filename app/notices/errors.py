"""What refuses a notice, a statement on it, or its finalizing."""

from app.errors import Conflict, Unprocessable


class NoticeClosed(Conflict):
    """The notice was withdrawn, finalized, or expired unfinalized: nothing more happens on it."""

    code = "notice_closed"


class StatementPeriodRunning(Conflict):
    code = "statement_period_running"


class StatementAlreadyGiven(Conflict):
    code = "statement_already_given"


class StatementTooLate(Unprocessable):
    code = "statement_too_late"


class RepairNotApplicable(Unprocessable):
    code = "repair_not_applicable"
