from enum import StrEnum


class Scope(StrEnum):
    records_write = "records:write"
    records_read = "records:read"
    checks_write = "checks:write"
    cases_review = "cases:review"
    rules_admin = "rules:admin"
    admin = "admin"
    audit_read = "audit:read"
