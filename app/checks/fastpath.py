"""POST /v1/checks on PostgreSQL: two prepared statements over an async psycopg connection.

The single check is the registry's most frequent write. On PostgreSQL, for today's answer with the
rule set already cached, it runs in the event loop (no threadpool hop, no ORM, no session): one
round trip reads the subject with its records in force (the statement `service.facts_today` runs,
compiled once), the decision and the receipt are made in memory exactly as on the general path,
and one round trip inserts the check row in autocommit, so the statement's own commit makes it
durable (synchronous_commit stays on) before the answer is sent. Anything else (SQLite, an as-of
day, a cold rule-set cache) takes the general path in a worker thread.
"""

from datetime import date

from starlette.concurrency import run_in_threadpool

from app.asyncpool import AsyncPool
from app.auth.service import Principal
from app.checks import service
from app.checks.schemas import CheckIn
from app.config import get_settings
from app.db import session_scope
from app.kit.clock import china_today
from app.rules import service as rules

_INSERT = "INSERT INTO checks ({}) VALUES ({})".format(
    ", ".join(f'"{name}"' for name in service.CheckRow._fields),
    ", ".join("%s" for _ in service.CheckRow._fields),
)


def _load_rule_set(day: date) -> rules.RuleSet:
    with session_scope(writing=False) as session:
        return rules.rule_set(session, day)


class AsyncChecks:
    def __init__(self, database_url: str) -> None:
        self.pool = AsyncPool(database_url)
        self.read_sql, self.read_defaults = service.postgres_facts_statement(single=True)

    async def check(self, principal: Principal, item: CheckIn) -> service.Answered | None:
        """The answer, recorded; None when this check must take the general path."""
        today = china_today()
        service.refuse_future([item], today)
        if item.as_of is not None and item.as_of < today:
            return None
        rule_set = rules.cached_rule_set(today)
        if rule_set is None:  # every RULESET_TTL_SECONDS: reloaded in a worker thread
            rule_set = await run_in_threadpool(_load_rule_set, today)
        async with self.pool.connection() as connection:
            params = self.read_defaults | {"day": today, "identifier": item.subject.identifier}
            cursor = await connection.execute(self.read_sql, params)  # type: ignore[arg-type]
            known = {today: service.facts_from_rows(await cursor.fetchall())}
            rows: list[service.CheckRow] = []
            (answer,) = service.answer_checks(principal, [item], known, {today: rule_set}, today, rows.append)
            await connection.execute(_INSERT, rows[0])  # type: ignore[arg-type]
        return answer


_checks: AsyncChecks | None = None


def async_checks() -> AsyncChecks | None:
    """The fast path on PostgreSQL; None on SQLite."""
    global _checks
    settings = get_settings()
    if settings.is_sqlite:
        return None
    if _checks is None:
        _checks = AsyncChecks(settings.resolved_database_url)
    return _checks
