"""What refuses a repair or objection case, or its evidence."""

from app.errors import Conflict, RegistryError, Unprocessable


class CaseAlreadyOpen(Conflict):
    code = "case_already_open"


class CaseClosed(Conflict):
    code = "case_closed"


class FileTooLarge(RegistryError):
    status_code = 413
    code = "payload_too_large"  # API.md: bodies and uploads over their limit, one code


class UnsupportedFileType(RegistryError):
    status_code = 415
    code = "unsupported_file_type"


class MinimumPeriodNotElapsed(Unprocessable):
    code = "minimum_period_not_elapsed"


class NotAppealable(Conflict):
    code = "case_not_appealable"


class AlreadyAppealed(Conflict):
    code = "already_appealed"


class AppealPeriodOver(Unprocessable):
    code = "appeal_period_over"
