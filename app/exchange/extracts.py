"""The daily extracts: every record in force on a day, and what changed since the extract before, as
gzipped NDJSON with a manifest signed by the registry key (issue 16; API.md, "Monitoring and
exchange"). How to run and keep them: docs/operations.md, "Daily extracts".

What is in them: the government view of every record in force on the day (active and within its
publicity period, app.records.repository), as the registry stood at the end of that day, China time,
of `public` and `shared` records only. An extract is one file for every reader with records:read,
whatever their agency, while a restricted record is told only within its limited circle
(国办发〔2020〕49号; the change feed, app.records.changes, shows it to its designating agency and
administrators alone): so no restricted record is in any extract. A record that becomes restricted
leaves the next delta as `removed`, one that stops being restricted enters it as `added`.

Their form: one record per line in id order, canonical JSON (app.kit.signing.canonical_json), gzip
without a name or a time in its header, so that a day's records make the same bytes whoever writes
them. A delta's lines are {"change": "added" | "changed" | "removed", "id", "record"} in id order,
"record" being the record's line in the new full extract (none when removed): applying the deltas in
order to an old full extract gives the new one byte for byte.

Where: files, not rows (a national registry's full extract runs to gigabytes), under
REGISTRY_EXTRACTS_DIR: `<date>/full.ndjson.gz`, `<date>/delta.ndjson.gz`, `<date>/manifest.jws`.
The `extracts` table indexes them and keeps the manifest. Nothing is held whole: the records come
from the database a batch at a time, and the previous full extract is read from its file in step
with them (a merge on ids) to find the delta.

One writer: a PostgreSQL advisory lock (SQLite: its one writer lock) lets one process make a day's
extracts; another finds them made, or the lock taken, and leaves them be.
"""

import gzip
import hashlib
import io
import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import get_settings
from app.exchange.errors import ExtractChainBroken, ExtractNotDue, ExtractOutOfOrder
from app.exchange.models import Extract
from app.keys import get_keyring
from app.kit.clock import china_today, end_of_day, utcnow
from app.kit.private import open_private
from app.kit.signing import canonical_json
from app.records import repository

FORMAT = "registry-extract/1"
# The manifest's `typ`: receipts, reports and checkpoints are signed by the same keys, and none of
# them may pass for a manifest.
MANIFEST_TYPE = "registry.extracts.manifest"
KINDS = ("full", "delta")
VISIBILITIES = ("public", "shared")
ACTOR = "system:extracts"
MANIFEST_FILE = "manifest.jws"
_LOCK_KEY = 0x45585452414354  # "EXTRACT"
_COMPRESS_LEVEL = 6  # gzip's own default: most of level 9's size at a fraction of its time
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Made:
    day: date
    extracts: list[Extract]
    made_now: bool  # False: they had been made already


def extracts_dir() -> Path:
    return get_settings().resolved_extracts_dir


def file_name(kind: str) -> str:
    return f"{kind}.ndjson.gz"


def record_line(values: dict[str, Any]) -> dict[str, Any]:
    """A record as an extract carries it (values from repository.records_in_force_for_extract)."""
    end = values["publicity_end"]
    return {
        "id": str(values["id"]),
        "external_id": values["external_id"],
        "agency": values["agency_code"],
        "domain": values["domain_code"],
        "list_type": values["list_type"],
        "severity": values["severity"],
        "subject": {
            "kind": values["kind"],
            "name": values["subject_name"],
            "identifier_type": values["identifier_type"],
            "identifier": values["identifier"],
        },
        "conduct": values["conduct"],
        "decision_no": values["decision_no"],
        "decision_date": values["decision_date"].isoformat(),
        "legal_basis": values["legal_basis"],
        "publicity_start": values["publicity_start"].isoformat(),
        "publicity_end": end.isoformat() if end is not None else None,
        "visibility": values["visibility"],
        "listing_basis": values["listing_basis"],
        "performance": values["performance"],
        "under_objection": bool(values["under_objection"]),
        "version": int(values["version"]),
        "received_at": instant(values["received_at"]),
    }


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- making a day's extracts ------------------------------------------------------------------------


def make_extracts(
    session: Session, day: date, *, root: Path | None = None, wait: bool = False
) -> Made | None:
    """Make the extracts of `day` (a day already over) unless they exist; None when another process
    is making extracts right now and `wait` is false. Raises ExtractNotDue, ExtractOutOfOrder (a
    later day was made: deltas chain day after day), ExtractChainBroken (the previous full extract
    no longer matches its manifest)."""
    today = china_today()
    if day >= today:
        raise ExtractNotDue(
            f"the extract of {day} is made once that day is over (China time); today is {today}"
        )
    if not _claim(session, wait):
        return None
    made = rows_of(session, day)
    if made:
        return Made(day, made, made_now=False)
    latest = session.scalar(select(func.max(Extract.day)))
    if latest is not None and latest > day:
        raise ExtractOutOfOrder(f"extracts are made day after day: {latest} is made, so {day} cannot be")
    previous = session.get(Extract, (latest, "full")) if latest is not None else None
    root = root or extracts_dir()
    folder = root / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    records = repository.records_in_force_for_extract(session, day, VISIBILITIES)
    full = _Output(folder / file_name("full"))
    delta = _Output(folder / file_name("delta")) if previous is not None else None
    outputs = [full] + ([delta] if delta else [])
    try:
        changes: dict[str, int] = {}
        if previous is None or delta is None:
            for values in records:
                full.line(canonical_json(record_line(values)))
        else:
            old = _previous_lines(root / previous.path, previous)
            changes = _write_merged(records, old, full, delta)
        files = [full.close() | {"kind": "full"}]
        if previous is not None and delta is not None:
            files.append(delta.close() | {"kind": "delta", "previous": previous.day.isoformat()} | changes)
        now = utcnow()
        payload = {
            "typ": MANIFEST_TYPE,
            "format": FORMAT,
            "date": day.isoformat(),
            "as_of": end_of_day(day).isoformat(),
            "made_at": instant(now),
            "visibility": list(VISIBILITIES),
            "files": files,
        }
        manifest = get_keyring().sign_jws(payload)
        _write_whole(folder / MANIFEST_FILE, manifest.encode())
        for output in outputs:
            output.keep()
    finally:
        for output in outputs:
            output.discard()
    rows = [
        Extract(
            day=day,
            kind=entry["kind"],
            count=entry["count"],
            sha256=entry["sha256"],
            ndjson_sha256=entry["ndjson_sha256"],
            size=entry["bytes"],
            previous=previous.day if entry["kind"] == "delta" and previous is not None else None,
            path=f"{day.isoformat()}/{entry['name']}",
            made_at=now,
            manifest=manifest,
        )
        for entry in files
    ]
    session.add_all(rows)
    session.flush()
    audit.append(session, ACTOR, [audit.Event("extract.made", "extract", day.isoformat(), payload)])
    return Made(day, rows, made_now=True)


def _claim(session: Session, wait: bool) -> bool:
    """The extracts' lock, for this transaction. SQLite: the one writer lock, which the caller's
    writing transaction (session_scope) took when it began."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}))


def _write_merged(
    records: Iterable[dict[str, Any]], old: Iterator[tuple[str, bytes]], full: "_Output", delta: "_Output"
) -> dict[str, int]:
    """Write the full extract, and the delta from the previous one by merging the two on ids (both
    in id order): an id only in the old is removed, only in the new added, in both with another
    line changed."""
    counts = {"added": 0, "changed": 0, "removed": 0}

    def change(kind: str, record_id: str, record: dict[str, Any] | None = None) -> None:
        line: dict[str, Any] = {"change": kind, "id": record_id}
        if record is not None:
            line["record"] = record
        delta.line(canonical_json(line))
        counts[kind] += 1

    before = next(old, None)
    last = ""
    for values in records:
        record = record_line(values)
        record_id, line = record["id"], canonical_json(record)
        if record_id <= last:  # the merge is only right over ids in one order; never guess
            raise RuntimeError(f"records came out of id order at {record_id}")
        last = record_id
        full.line(line)
        while before is not None and before[0] < record_id:
            change("removed", before[0])
            before = next(old, None)
        if before is not None and before[0] == record_id:
            if before[1] != line:
                change("changed", record_id, record)
            before = next(old, None)
        else:
            change("added", record_id, record)
    while before is not None:
        change("removed", before[0])
        before = next(old, None)
    return counts


def _previous_lines(path: Path, expected: Extract) -> Iterator[tuple[str, bytes]]:
    """(id, line) of a full extract on disk, in its order; raises ExtractChainBroken, at the latest
    once read to its end, unless it is exactly the file its manifest describes."""
    broken = f"the full extract of {expected.day} ({path})"
    gz_hash, text_hash, count = hashlib.sha256(), hashlib.sha256(), 0
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=_HashingReader(raw, gz_hash), mode="rb") as lines:
            for line in lines:
                text_hash.update(line)
                count += 1
                body = line.rstrip(b"\n")
                yield str(orjson.loads(body)["id"]), body
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ExtractChainBroken(
            f"{broken} cannot be read ({exc}); restore it to make the next delta"
        ) from None
    if (gz_hash.hexdigest(), text_hash.hexdigest(), count) != (
        expected.sha256,
        expected.ndjson_sha256,
        expected.count,
    ):
        raise ExtractChainBroken(
            f"{broken} no longer matches its manifest; restore it to make the next delta"
        )


class _HashingReader:
    """A file read through, its bytes hashed on the way (what the gzip reader reads is the file)."""

    def __init__(self, raw: BinaryIO, digest: "hashlib._Hash") -> None:
        self._raw, self._digest = raw, digest

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._digest.update(data)
        return data

    def seek(self, offset: int) -> int:  # gzip rewinds only when asked to seek back: never here
        raise io.UnsupportedOperation("an extract is read once, front to back")


class _Output:
    """A gzipped NDJSON file written under a temporary name, with the digests of both its forms."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = _partial(path)
        self._file = open_private(self.partial)
        self._gz_hash = hashlib.sha256()
        self._text_hash = hashlib.sha256()
        self._pending = bytearray()
        self._count = 0
        self._size = 0
        # No file name and time 0 in the header: the same lines make the same bytes.
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", compresslevel=_COMPRESS_LEVEL, fileobj=self, mtime=0
        )  # type: ignore[call-overload]

    def write(self, data: bytes) -> int:  # what the gzip writer hands on: the file's bytes
        self._gz_hash.update(data)
        self._size += len(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def line(self, body: bytes) -> None:
        self._pending += body
        self._pending += b"\n"
        self._count += 1
        if len(self._pending) >= _CHUNK:
            self._drain()

    def _drain(self) -> None:
        self._text_hash.update(self._pending)
        self._gzip.write(self._pending)
        self._pending.clear()

    def close(self) -> dict[str, Any]:
        self._drain()
        self._gzip.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return {
            "name": self.path.name,
            "count": self._count,
            "sha256": self._gz_hash.hexdigest(),
            "ndjson_sha256": self._text_hash.hexdigest(),
            "bytes": self._size,
        }

    def keep(self) -> None:
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        """Whatever was not kept (an extract that failed half way) goes."""
        if not self._file.closed:
            self._file.close()
        self.partial.unlink(missing_ok=True)


def _partial(path: Path) -> Path:
    """Where a file is written before it takes its name: a reader never sees half of it."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")


def _write_whole(path: Path, content: bytes) -> None:
    partial = _partial(path)
    with open_private(partial) as file:
        file.write(content)
    os.replace(partial, path)


# --- reading them -----------------------------------------------------------------------------------


def rows_of(session: Session, day: date) -> list[Extract]:
    """The day's extracts, the full one first."""
    rows = session.scalars(select(Extract).where(Extract.day == day)).all()
    return sorted(rows, key=lambda row: KINDS.index(row.kind))


def listing(session: Session, before: date | None, days: int) -> list[Extract]:
    """The extracts of up to `days` days before `before` (default: all), newest day first."""
    latest_days = select(Extract.day).distinct().order_by(Extract.day.desc()).limit(days)
    if before is not None:
        latest_days = latest_days.where(Extract.day < before)
    rows = session.scalars(select(Extract).where(Extract.day.in_(latest_days.scalar_subquery()))).all()
    return sorted(rows, key=lambda row: (-row.day.toordinal(), KINDS.index(row.kind)))


def find(session: Session, day: date, kind: str) -> Extract | None:
    return session.get(Extract, (day, kind))


def latest_day(session: Session) -> date | None:
    return session.scalar(select(func.max(Extract.day)))


def due_days(session: Session, today: date | None = None) -> list[date]:
    """The days whose extracts are due, oldest first: every day since the latest made, up to
    yesterday (a process that was down catches up); only yesterday when none was ever made."""
    yesterday = (today or china_today()) - timedelta(days=1)
    latest = latest_day(session)
    if latest is None:
        return [yesterday]
    return [latest + timedelta(days=n) for n in range(1, (yesterday - latest).days + 1)]
