"""POST /v1/checks on PostgreSQL: one read and one insert, each shared by the checks running at once.

The single check is the registry's most frequent write. On PostgreSQL, for today's answer with the
rule set already cached, it runs in the event loop (no threadpool hop, no ORM, no session): the
subject with its records in force is read (the batch's facts statement, compiled once), the
decision and the receipt are made in memory exactly as on the general path, and the check row is
written by a COPY in autocommit, whose own commit makes it durable (synchronous_commit stays on)
before the answer is sent. Checks that arrive while a read or a COPY is in flight go together in
the next one (app.kit.coalesce): under load one round trip and one commit serve several checks,
which is most of what a check costs the server; a lone check waits for nothing. Anything else
(SQLite, an as-of day, a cold rule-set cache) takes the general path in a worker thread.
"""

from datetime import date

from starlette.concurrency import run_in_threadpool

from app.db.asyncpool import AsyncPool
from app.auth.service import Principal
from app.checks import service
from app.checks.models import Check
from app.checks.schemas import CheckIn
from app.config import get_settings
from app.db import copy_line, copy_statement, session_scope
from app.kit.clock import china_today
from app.kit.coalesce import Coalescer
from app.rules import service as rules

_COPY = copy_statement(Check, service.CheckRow._fields)


def _load_rule_set(day: date) -> rules.RuleSet:
    with session_scope(writing=False) as session:
        return rules.rule_set(session, day)


class AsyncChecks:
    def __init__(self, database_url: str) -> None:
        self.pool = AsyncPool(database_url)
        self.read_sql, self.read_defaults = service.postgres_facts_statement(single=False)
        self.reads: Coalescer[tuple[date, str], service.Facts | None] = Coalescer(self._read)
        self.inserts: Coalescer[service.CheckRow, None] = Coalescer(self._insert)

    async def check(self, principal: Principal, item: CheckIn) -> service.Answered | None:
        """The answer, recorded; None when this check must take the general path. A future as-of
        day is the caller's to refuse first."""
        today = china_today()
        if item.as_of is not None and item.as_of < today:
            return None
        rule_set = rules.cached_rule_set(today)
        if rule_set is None:  # every RULESET_TTL_SECONDS: reloaded in a worker thread
            rule_set = await run_in_threadpool(_load_rule_set, today)
        identifier = item.subject.identifier
        facts = await self.reads.submit((today, identifier))
        known = {today: {identifier: facts} if facts is not None else {}}
        rows: list[service.CheckRow] = []
        (answer,) = service.answer_checks(principal, [item], known, {today: rule_set}, today, rows.append)
        await self.inserts.submit(rows[0])
        return answer

    async def _read(self, asked: list[tuple[date, str]]) -> list[service.Facts | None]:
        found: dict[date, dict[str, service.Facts]] = {}
        async with self.pool.connection() as connection:
            for day in dict.fromkeys(day for day, _ in asked):
                identifiers = list(dict.fromkeys(identifier for on, identifier in asked if on == day))
                params = self.read_defaults | {"day": day, "identifiers": identifiers}
                cursor = await connection.execute(self.read_sql, params)  # type: ignore[arg-type]
                found[day] = service.facts_from_rows(await cursor.fetchall())
        return [found[day].get(identifier) for day, identifier in asked]

    async def _insert(self, rows: list[service.CheckRow]) -> list[None]:
        lines = [copy_line(row) for row in rows]
        assert None not in lines, "a check row's values are all of types COPY lines are made of"
        async with (
            self.pool.connection() as connection,
            connection.cursor() as cursor,
            cursor.copy(_COPY) as copy,
        ):
            await copy.write("".join(lines))  # type: ignore[arg-type]
        return [None] * len(rows)


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
