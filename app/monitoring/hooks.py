"""Where monitoring hooks into every change: the audit log's append, which every write path goes
through in its own transaction (app.audit.service.on_append)."""

from app.audit import service as audit
from app.monitoring.alerts import after_append


def install() -> None:
    """Idempotent: the app and the console script both call it."""
    audit.on_append(after_append)
