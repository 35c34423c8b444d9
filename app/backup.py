"""Logical backup and restore of the whole registry, portable between SQLite and PostgreSQL.

A backup is a gzip of JSON lines: a header naming the schema revision, then every row of every
table in foreign-key order, values typed so they come back exactly, then a last line counting the
rows of each table (a file cut short is refused). A restore is one transaction, committed only
when the audit chain and the records verify against each other (app.cli), which is the proof that
nothing was lost or changed.

The header also carries the public signing keys (the JWKS): with them a restore, wherever it goes,
still verifies every receipt, report and checkpoint the registry signed. The private keys are not in
it, so that a copy of the data cannot forge the registry's signature: they are kept with the other
secrets (docs/operations.md, "Signing keys").
"""

import base64
import gzip
import json
import uuid
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.sql.schema import Table

from app.db import Base
from app.keys import get_keyring
from app.kit.private import open_private
from app.migrate import current_revision

FORMAT = "credit-registry-backup/1"


def _tables() -> list[Table]:
    import app.models  # noqa: F401  (every table registered on Base.metadata)

    return list(Base.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$uuid":
            return uuid.UUID(raw)
        if tag == "$datetime":
            return datetime.fromisoformat(raw)
        if tag == "$date":
            return date.fromisoformat(raw)
        if tag == "$bytes":
            return base64.b64decode(raw)
    return value


def backup(connection: Connection, path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open_private(path) as file, gzip.open(file, "wt", encoding="utf-8") as out:
        header = {
            "format": FORMAT,
            "revision": current_revision(connection),
            "keys": get_keyring().jwks()["keys"],
        }
        out.write(json.dumps(header | {"counted": True}) + "\n")
        for table in _tables():
            counts[table.name] = 0
            rows = connection.execute(select(table).execution_options(yield_per=2000))
            for row in rows.mappings():
                line = {"table": table.name, "row": {key: _encode(value) for key, value in row.items()}}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                counts[table.name] += 1
        out.write(json.dumps({"end": counts}) + "\n")
    return counts


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    """The backup's lines; ValueError naming the line for a file that is damaged (not gzip, cut
    short inside the compressed stream, not JSON)."""
    reading = 1  # the line being read or parsed
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                parsed = json.loads(line)
                reading += 1
                yield parsed
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is damaged at line {reading}: {exc}") from None


def _header(path: Path, lines: Iterator[Any]) -> dict[str, Any]:
    header = next(lines, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a registry backup")
    return header


def public_keys(path: Path) -> list[dict[str, Any]]:
    """The public signing keys a backup carries (none in backups written before they did)."""
    return list(_header(path, _lines(path)).get("keys", []))


def restore(connection: Connection, path: Path, batch_size: int = 2000) -> dict[str, int]:
    """Load a backup into an empty database migrated to the same revision."""
    lines = _lines(path)
    header = _header(path, lines)
    revision = current_revision(connection)
    if header["revision"] != revision:
        raise ValueError(f"the backup is of schema {header['revision']}; this database is at {revision}")
    tables = {table.name: table for table in _tables()}
    for table in tables.values():
        if connection.scalar(select(func.count()).select_from(table)):
            raise ValueError(f"table {table.name} is not empty: restore goes into a fresh database only")
    counts: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    current: Table | None = None

    def flush() -> None:
        if current is not None and pending:
            connection.execute(insert(current), pending)
            counts[current.name] = counts.get(current.name, 0) + len(pending)
            pending.clear()

    end: dict[str, int] | None = None
    for number, line in enumerate(lines, start=2):
        if end is not None:
            raise ValueError(f"{path}: line {number} comes after the backup's last line")
        if not isinstance(line, dict):
            raise ValueError(f"{path}: line {number} is not a row of a registry table")
        if "end" in line:
            end = line["end"]
            if not isinstance(end, dict) or not all(isinstance(n, int) for n in end.values()):
                raise ValueError(f"{path}: its last line does not count rows")
            continue
        table_of_line = tables.get(str(line.get("table", "")))
        row = line.get("row")
        if table_of_line is None or not isinstance(row, dict) or not set(row) <= set(table_of_line.c.keys()):
            raise ValueError(f"{path}: line {number} is not a row of a registry table")
        if table_of_line is not current:
            flush()
            current = table_of_line
        pending.append({key: _decode(value) for key, value in row.items()})
        if len(pending) >= batch_size:
            flush()
    flush()
    if header.get("counted") and end is None:
        raise ValueError(f"{path} was cut short: its last line, counting the rows, is missing")
    if end is not None:
        differing = {
            name: (count, counts.get(name, 0)) for name, count in end.items() if counts.get(name, 0) != count
        }
        if differing:
            raise ValueError(
                f"{path} does not hold the rows it counts: "
                + ", ".join(f"{name} {want} counted, {got} read" for name, (want, got) in differing.items())
            )
    return counts
