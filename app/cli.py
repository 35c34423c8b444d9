"""The `registry` console script: serve, migrate, and the operator's tasks."""

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from app.config import get_settings

cli = typer.Typer(
    help="The credit red/black list registry.", no_args_is_help=True, pretty_exceptions_enable=False
)
agencies_cli = typer.Typer(help="Agencies of the catalog.", no_args_is_help=True)
clients_cli = typer.Typer(help="API clients an agency's systems use.", no_args_is_help=True)
keys_cli = typer.Typer(help="Signing keys for tokens, receipts and reports.", no_args_is_help=True)
records_cli = typer.Typer(help="Bulk import and export of records.", no_args_is_help=True)
audit_cli = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
search_cli = typer.Typer(help="The public name search index.", no_args_is_help=True)
calendar_cli = typer.Typer(
    help="The working-day calendar: holidays and make-up working days.", no_args_is_help=True
)
cli.add_typer(agencies_cli, name="agencies")
cli.add_typer(clients_cli, name="clients")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(records_cli, name="records")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(search_cli, name="search")
cli.add_typer(calendar_cli, name="calendar")

OPERATOR = f"cli:{os.environ.get('USER', 'operator')}"


def wait_for_database(seconds: float) -> None:
    """Return once the database answers; exit 1 with the driver's reason after `seconds`."""
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from app.db import get_engine

    deadline = time.monotonic() + seconds
    while True:
        try:
            with get_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            if time.monotonic() >= deadline:
                typer.echo(f"error: the database did not answer within {seconds:.0f} s: {reason}", err=True)
                raise typer.Exit(1) from None
            typer.echo(f"waiting for the database: {reason}", err=True)
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


def prepare_database() -> dict[str, int]:
    """Wait for the database, migrate to head, load the seed catalog if empty. Safe to repeat."""
    from app import migrate
    from app.db import session_scope
    from app.seed import load_seed_catalog

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    wait_for_database(settings.database_wait_seconds)
    migrate.upgrade(settings.resolved_database_url)
    with session_scope() as session:
        return load_seed_catalog(session, actor="system:seed").counts


@cli.command()
def serve(
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only)")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
) -> None:
    """Migrate, load the seed catalog when empty, and serve on REGISTRY_HOST:REGISTRY_PORT."""
    import uvicorn

    settings = get_settings()
    counts = prepare_database()
    if counts:
        typer.echo(f"loaded the seed catalog: {counts}", err=True)
    from app.kit.signing import get_keyring

    get_keyring()  # generate the development key now, not inside the first request
    if settings.is_sqlite and workers > 1:
        typer.echo("SQLite has one writer: serving with one worker", err=True)
        workers = 1
    typer.echo(f"serving on http://{settings.host}:{settings.port} (docs at /docs)", err=True)
    from app.kit.observe import configure_logging

    log_config = configure_logging(settings.log_level)
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=workers,
        reload=reload,
        log_config=log_config,
        access_log=False,  # one JSON line per request comes from RequestObserver instead
    )


@cli.command()
def migrate() -> None:
    """Migrate the database to the newest schema and load the seed catalog if it is empty."""
    counts = prepare_database()
    typer.echo(json.dumps({"migrated": True, "catalog_loaded": counts}, ensure_ascii=False))


@cli.command()
def sweep() -> None:
    """Record the exit of every record whose publicity period is over (also runs in the server)."""
    from app.main import run_sweep_once

    prepare_database()
    total = 0
    while count := run_sweep_once():
        total += count
    typer.echo(json.dumps({"expired": total}))


@cli.command()
def backup(path: Annotated[Path, typer.Argument(help="Where to write the backup (.jsonl.gz)")]) -> None:
    """Write every table to one portable file (SQLite or PostgreSQL alike)."""
    from app import backup as backups
    from app.db import get_engine

    with get_engine().connect() as connection, connection.begin():
        counts = backups.backup(connection, path)
    typer.echo(json.dumps({"backup": str(path), "rows": counts}))


@cli.command()
def restore(path: Annotated[Path, typer.Argument(help="A file written by `registry backup`")]) -> None:
    """Load a backup into a fresh database (migrated here first; the catalog is not seeded)."""
    from app import backup as backups
    from app import migrate as migrations
    from app.db import get_engine

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.resolved_database_url)
    try:
        with get_engine().connect() as connection, connection.begin():
            counts = backups.restore(connection, path)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"restored": str(path), "rows": counts}))


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the whole audit chain; exit 1 naming the first entry altered, removed or moved."""
    from dataclasses import asdict

    from app.audit import service as audit
    from app.db import session_scope

    with session_scope(writing=False) as session:
        result = audit.verify(session)
    typer.echo(json.dumps({k: v for k, v in asdict(result).items() if v is not None}))
    if not result.valid:
        raise typer.Exit(1)


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the public search index from every subject's current and former names."""
    from app.db import session_scope
    from app.records.search_index import reindex

    prepare_database()
    with session_scope() as session:
        written = reindex(session)
    typer.echo(json.dumps({"indexed_names": written}))


@calendar_cli.command("load")
def calendar_load(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="date,workday,note CSV of one year")
    ],
    source: Annotated[str, typer.Option(help="The notice it comes from (title, document number)")] = "",
    force: Annotated[
        bool, typer.Option(help="Confirm statutory holidays the file makes working days")
    ] = False,
) -> None:
    """Load a year's official schedule (the State Council's notice) as a whole, in one transaction;
    exit 2 naming the first wrong line, nothing loaded. Format: docs/operations.md."""
    from app.catalog import calendar
    from app.db import session_scope
    from app.errors import RegistryError

    prepare_database()
    try:
        schedule = calendar.parse_schedule(path.read_bytes())
        with session_scope() as session:
            loaded = calendar.load_schedule(session, OPERATOR, schedule, source=source, force=force)
    except RegistryError as exc:
        typer.echo(f"error: {path.name}: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    out = {"year": loaded.year, "days": loaded.days, "replaced": loaded.replaced}
    typer.echo(json.dumps(out | {"known_until": loaded.known_until.isoformat()}))


@records_cli.command("import")
def records_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON or CSV file")],
    agency: Annotated[str, typer.Option(help="The designating agency of every record in the file")],
    fmt: Annotated[str, typer.Option("--format", help="ndjson or csv (default: by file extension)")] = "",
    batch: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
) -> None:
    """Push records from a file through the same checks as the API; report each refused line."""
    from collections import Counter

    from app.auth.scopes import Scope
    from app.auth.service import Principal
    from app.db import session_scope
    from app.records import ingest, transfer

    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "ndjson")
    prepare_database()
    principal = Principal(client_id="cli", agency_code=agency, scopes=frozenset({Scope.records_write.value}))
    totals: Counter[str] = Counter()
    refused: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    with typer.progressbar(length=path.stat().st_size, label=f"importing {path.name}") as progress:
        for chunk in transfer.batched(transfer.read_items(path, fmt), batch):
            with session_scope() as session:
                outcomes = ingest.ingest(session, principal, [item for _, item in chunk])
            for (line, _), outcome in zip(chunk, outcomes, strict=True):
                totals[outcome.status] += 1
                if outcome.error is not None:
                    reasons[outcome.error.code] += 1
                    refused.append(
                        {"line": line, "error": outcome.error.code, "detail": outcome.error.detail}
                    )
            progress.update(sum(len(json.dumps(item, ensure_ascii=False)) for _, item in chunk))
    summary = {"created": totals["created"], "unchanged": totals["unchanged"], "refused": totals["error"]}
    typer.echo(
        json.dumps(
            summary | {"refused_by_reason": dict(reasons), "refused_lines": refused[:100]}, ensure_ascii=False
        )
    )
    if refused:
        raise typer.Exit(1)


@records_cli.command("export")
def records_export(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write")],
    agency: Annotated[str | None, typer.Option(help="Only this agency's records")] = None,
    fmt: Annotated[str, typer.Option("--format", help="ndjson or csv (default: by file extension)")] = "",
) -> None:
    """Write records (every status) as NDJSON or CSV, importable again with `records import`."""
    from app.db import session_scope
    from app.records import transfer

    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "ndjson")
    prepare_database()
    with session_scope(writing=False) as session, path.open("w", encoding="utf-8", newline="") as handle:
        count = transfer.write_rows(transfer.export_rows(session, agency), handle, fmt)
    typer.echo(json.dumps({"exported": count, "file": str(path)}))


@agencies_cli.command("list")
def agencies_list(as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    from app.catalog.service import list_agencies
    from app.db import session_scope

    prepare_database()
    with session_scope(writing=False) as session:
        rows = [
            {"code": a.code, "name_zh": a.name_zh, "jurisdiction": a.jurisdiction}
            for a in list_agencies(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            typer.echo(f"{row['code']:<48} {row['jurisdiction']:<10} {row['name_zh']}")


@clients_cli.command("create")
def clients_create(
    agency: Annotated[str, typer.Option(help="Agency code (registry agencies list)")],
    scope: Annotated[list[str], typer.Option(help="A scope; repeat for several")],
    label: Annotated[str, typer.Option(help="What this client is for")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Create an API client; its secret is shown once and stored only as a hash."""
    from app.auth.service import create_client
    from app.db import session_scope
    from app.errors import RegistryError

    prepare_database()
    try:
        with session_scope() as session:
            client = create_client(session, agency_code=agency, scopes=scope, actor=OPERATOR, label=label)
    except RegistryError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    out = {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "agency": client.agency,
        "scopes": client.scopes,
    }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
    else:
        typer.echo(f"client_id:     {client.client_id}\nclient_secret: {client.client_secret}  (shown once)")


@clients_cli.command("list")
def clients_list(as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    """Every API client: agency, scopes, and whether it is revoked (secrets are never shown)."""
    from app.auth.service import list_clients
    from app.db import session_scope

    prepare_database()
    with session_scope(writing=False) as session:
        rows: list[dict[str, Any]] = [
            {
                "client_id": c.client_id,
                "agency": c.agency_code,
                "scopes": c.scopes,
                "label": c.label,
                "created_at": c.created_at.isoformat(),
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
            }
            for c in list_clients(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            state = "revoked" if row["revoked_at"] else "active"
            typer.echo(f"{row['client_id']}  {row['agency']:<40} {state:<8} {' '.join(row['scopes'])}")


@clients_cli.command("revoke")
def clients_revoke(client_id: str) -> None:
    """Revoke a client: no new tokens, and its tokens stop working within 30 seconds."""
    from app.auth.service import revoke_client
    from app.db import session_scope
    from app.errors import RegistryError

    prepare_database()
    try:
        with session_scope() as session:
            revoke_client(session, client_id, OPERATOR)
    except RegistryError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"revoked {client_id}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Generate a new signing key in the data directory; older keys keep verifying."""
    from app.kit.signing import generate_key_file

    settings = get_settings()
    if settings.signing_keys:
        typer.echo("keys come from REGISTRY_SIGNING_KEYS: prepend a new PEM there instead", err=True)
        raise typer.Exit(2)
    path = generate_key_file(settings.data_dir / "keys")
    typer.echo(f"new signing key: {path}")


def main() -> None:
    cli()
