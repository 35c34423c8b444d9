"""What refuses a push or a change to a record."""

from app.errors import Conflict, Unprocessable


class ExternalIdConflict(Conflict):
    code = "external_id_conflict"


class RecordNotActive(Conflict):
    code = "record_not_active"


class MinorSubject(Unprocessable):
    code = "minor_subject"


class NoticeRequired(Unprocessable):
    code = "notice_required"


class AlreadyMerged(Conflict):
    code = "already_merged"


class MergeUndone(Conflict):
    code = "merge_undone"
