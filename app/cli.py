"""The `registry` console script: serve, migrate, and the operator's tasks."""

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.config import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.monitoring.beside import WorkerBeside

cli = typer.Typer(
    help="The credit red/black list registry.", no_args_is_help=True, pretty_exceptions_enable=False
)
agencies_cli = typer.Typer(help="Agencies of the catalog.", no_args_is_help=True)
clients_cli = typer.Typer(help="API clients an agency's systems use.", no_args_is_help=True)
keys_cli = typer.Typer(help="Signing keys for tokens, receipts and reports.", no_args_is_help=True)
records_cli = typer.Typer(help="Bulk import and export of records.", no_args_is_help=True)
audit_cli = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
search_cli = typer.Typer(help="The public name search index.", no_args_is_help=True)
receipts_cli = typer.Typer(help="Approvers' check receipts.", no_args_is_help=True)
calendar_cli = typer.Typer(
    help="The working-day calendar: holidays and make-up working days.", no_args_is_help=True
)
cli.add_typer(agencies_cli, name="agencies")
cli.add_typer(clients_cli, name="clients")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(records_cli, name="records")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(search_cli, name="search")
cli.add_typer(receipts_cli, name="receipts")
cli.add_typer(calendar_cli, name="calendar")
extracts_cli = typer.Typer(help="The daily signed extracts of the records in force.", no_args_is_help=True)
cli.add_typer(extracts_cli, name="extracts")
deliveries_cli = typer.Typer(
    help="Webhooks of watchlists' alerts and change-feed subscriptions.", no_args_is_help=True
)
cli.add_typer(deliveries_cli, name="deliveries")

OPERATOR = f"cli:{os.environ.get('USER', 'operator')}"


def settings_problem(exc: Exception) -> str:
    """What is wrong with the REGISTRY_ environment, as one sentence naming the variable to set."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):  # pydantic-settings' SettingsError: a value it cannot parse
        return str(exc)
    problems = []
    for error in exc.errors():
        # The production checks raise ValueError("REGISTRY_… must …"); pydantic prefixes "Value error, ".
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["loc"]:
            message = f"REGISTRY_{str(error['loc'][0]).upper()} is not valid: {message}"
        problems.append(message)
    return "; ".join(problems)


@cli.callback()
def check_settings() -> None:
    # Runs before every command: a misconfiguration is one sentence and exit code 2, not a traceback
    # from deep inside the first command that reads the settings.
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        get_settings()
    except (ValidationError, SettingsError) as exc:
        typer.echo(f"error: {settings_problem(exc)}", err=True)
        raise typer.Exit(2) from None
    # Changes made from the console (imports, the expiry sweep) make their watchlists' alerts too.
    from app.cases import hooks as cases
    from app.monitoring import hooks as monitoring

    monitoring.install()
    cases.install()  # deadlines set once the calendar knows them (a year loaded from the console)


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
    loop: Annotated[
        str, typer.Option(help="Event loop: auto (uvloop when installed), uvloop or asyncio")
    ] = "auto",
    http: Annotated[
        str, typer.Option(help="HTTP parser: auto (httptools when installed), httptools or h11")
    ] = "auto",
) -> None:
    """Migrate, load the seed catalog when empty, and serve on REGISTRY_HOST:REGISTRY_PORT."""
    if loop not in ("auto", "uvloop", "asyncio") or http not in ("auto", "httptools", "h11"):
        raise typer.BadParameter("--loop is auto, uvloop or asyncio; --http is auto, httptools or h11")
    import uvicorn

    settings = get_settings()
    counts = prepare_database()
    if counts:
        typer.echo(f"loaded the seed catalog: {counts}", err=True)
    from app.keys import get_keyring

    get_keyring()  # generate the development key now, not inside the first request
    if settings.is_sqlite and workers > 1:
        typer.echo("SQLite has one writer: serving with one worker", err=True)
        workers = 1
    typer.echo(f"serving on http://{settings.host}:{settings.port} (docs at /docs)", err=True)
    from app.kit.observe import configure_logging

    log_config = configure_logging(settings.log_level)
    from app.kit.slowclients import protocol

    beside = _delivery_worker_beside(settings)
    try:
        uvicorn.run(
            "app.main:app",
            host=settings.host,
            port=settings.port,
            workers=workers,
            reload=reload,
            log_config=log_config,
            access_log=False,  # one JSON line per request comes from RequestObserver instead
            # X-Forwarded-For is believed only from REGISTRY_TRUSTED_PROXIES (uvicorn's own default
            # believes 127.0.0.1, which lets anyone on the host pick their address for the rate limit).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            loop=loop,  # type: ignore[arg-type]  # one of uvicorn's loop names, checked above
            http=protocol(settings.head_timeout_seconds, http),  # type: ignore[arg-type]  # a protocol factory
        )
    finally:
        if beside is not None:
            beside.stop()


def _delivery_worker_beside(settings: Settings) -> "WorkerBeside | None":
    """On PostgreSQL the delivery worker runs in a process of its own beside the servers
    (app.monitoring.beside), theirs turned off; on SQLite, or with REGISTRY_DELIVERY_WORKER=server,
    each server process runs its own (REGISTRY_DELIVERY_POLL_SECONDS=0: none at all)."""
    if settings.is_sqlite or settings.delivery_worker != "process" or settings.delivery_poll_seconds <= 0:
        return None
    import signal

    from app.monitoring.beside import WorkerBeside

    beside = WorkerBeside(settings.delivery_poll_seconds)
    os.environ["REGISTRY_DELIVERY_POLL_SECONDS"] = "0"  # for the server processes, started next
    get_settings.cache_clear()

    def stop_then_end(signum: int, _: Any) -> None:
        # uvicorn shuts down on SIGTERM, then raises it again with this handler back in place
        beside.stop()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, stop_then_end)
    return beside


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


def _writable(path: Path) -> None:
    """A file the command can write, or a sentence and exit 2 (no traceback, nothing half-written)."""
    if path.is_dir():
        typer.echo(f"error: {path} is a directory: give a file name", err=True)
        raise typer.Exit(2)
    if not path.parent.is_dir():
        typer.echo(f"error: the directory {path.parent} does not exist", err=True)
        raise typer.Exit(2)


@cli.command()
def backup(path: Annotated[Path, typer.Argument(help="Where to write the backup (.jsonl.gz)")]) -> None:
    """Write every table to one portable file (SQLite or PostgreSQL alike)."""
    from app import backup as backups
    from app.db import get_engine

    _writable(path)
    try:
        with get_engine().connect() as connection, connection.begin():
            counts = backups.backup(connection, path)
    except OSError as exc:  # the disk full, the file gone: a sentence, never a traceback
        typer.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"backup": str(path), "rows": counts}))


@cli.command()
def restore(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A file written by `registry backup`")
    ],
) -> None:
    """Load a backup into a fresh database (migrated here first; the catalog is not seeded)."""
    from sqlalchemy.exc import DBAPIError

    from app import backup as backups
    from app import migrate as migrations
    from app.db import get_engine, refresh_statistics

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.resolved_database_url)
    try:
        with get_engine().connect() as connection, connection.begin():
            counts = backups.restore(connection, path)
            # Committed only if what came back holds together: the chain, and the records against it.
            verdict = _verify_restored(connection)
            if not verdict.valid:
                raise ValueError(
                    f"the restored data does not verify ({verdict.reason}"
                    + (f" at entry {verdict.broken_at}" if verdict.broken_at else "")
                    + f"): {verdict.detail or verdict.altered_records}; nothing was restored"
                )
    except (ValueError, DBAPIError) as exc:  # the database refusing a row: a duplicate, a bad value
        detail = (
            f"the backup holds a row the database refuses ({exc.orig})"
            if isinstance(exc, DBAPIError)
            else exc
        )
        typer.echo(f"error: {detail}", err=True)
        raise typer.Exit(2) from None
    refresh_statistics(get_engine())
    from app.keys import install_public_keys
    from app.kit import signing

    # The backup's public keys, so that what they signed still verifies here.
    backup_keys = backups.public_keys(path)
    installed = install_public_keys(backup_keys, settings)
    typer.echo(json.dumps({"restored": str(path), "rows": counts, "keys": installed}))
    if installed["missing"]:
        by_kid = {key.kid: key for key in map(signing.public_key_from_jwk, backup_keys)}
        pems = [signing.public_pem(by_kid[kid].public_ec) for kid in installed["missing"]]
        typer.echo(
            "warning: receipts, reports and checkpoints signed by these keys will not verify until their "
            "public keys are added to REGISTRY_SIGNING_KEYS (after the private ones):\n" + "\n".join(pems),
            err=True,
        )


def _verify_restored(connection: Any) -> Any:
    from sqlalchemy.orm import Session

    from app.audit import service as audit
    from app.records.integrity import altered_records
    from app.rules.integrity import altered_rules

    with Session(bind=connection) as session:
        return audit.verify(session, record_check=altered_records, rules_check=altered_rules)


@audit_cli.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="Kept checkpoints, one per line (repeatable)"),
    ] = None,
) -> None:
    """Walk the whole audit chain, against kept checkpoints, then the record rows; exit 1 naming the
    first entry altered, removed, moved or cut off, or the records altered; 2 if a checkpoint is bad."""
    from dataclasses import asdict

    from app.audit import service as audit
    from app.errors import ValidationFailed
    from app.records.integrity import altered_records
    from app.rules.integrity import altered_rules

    try:
        lines = [
            (f"{path}:{number}", line.strip())
            for path in checkpoint or []
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if line.strip()
        ]
        kept = audit.read_checkpoints([token for _, token in lines], [name for name, _ in lines])
    except UnicodeDecodeError as exc:  # not a file of checkpoints: a bad input, not a tampered chain
        body = {"error": "validation_error", "detail": f"checkpoint files are text, one per line: {exc}"}
        typer.echo(json.dumps(body, ensure_ascii=False))
        raise typer.Exit(2) from None
    except ValidationFailed as exc:
        typer.echo(json.dumps(exc.body(), ensure_ascii=False))
        raise typer.Exit(2) from None
    result = audit.verify_snapshot(kept, altered_records, altered_rules)
    typer.echo(json.dumps({k: v for k, v in asdict(result).items() if v is not None}))
    if not result.valid:
        raise typer.Exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Print a signed checkpoint of the chain's head (append it to the file an outside party keeps)."""
    from app.audit import service as audit
    from app.db import session_scope

    with session_scope(writing=False) as session:
        issued = audit.issue_checkpoint(session)
    typer.echo(f"audit checkpoint: entry {issued['seq']}, hash {issued['hash']}, at {issued['at']}", err=True)
    typer.echo(issued["checkpoint"])


def _read_jwks(source: str) -> dict[str, Any]:
    """A published JWKS from a file or URL; a sentence and exit 2 when it cannot be had or is none."""
    try:
        if source.startswith(("http://", "https://")):
            import httpx

            document = httpx.get(source, timeout=10).raise_for_status().json()
        else:
            document = json.loads(Path(source).read_text(encoding="utf-8"))
    except Exception as exc:  # any way of not getting it: the same sentence, never a traceback
        typer.echo(f"error: cannot read the JWKS {source}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        typer.echo(f'error: {source} is not a JWKS (an object with a "keys" list)', err=True)
        raise typer.Exit(2)
    return document


def _own_keys_verifier() -> "Callable[[str], Any]":
    """This registry's own keys, to verify with when no JWKS is given, read without ever making one
    (a key made here would only say "an unknown key"); exit 2 when there are none here or they
    cannot be read."""
    from app.kit import signing

    settings = get_settings()
    directory = settings.data_dir / "keys"
    try:
        if settings.signing_keys:
            keys = signing.keys_from_text(settings.signing_keys)
        else:
            keys = signing.keys_from_directory(directory) if directory.is_dir() else []
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot read the registry's keys: {exc}", err=True)
        raise typer.Exit(2) from None
    if not keys:
        typer.echo(
            f"error: no registry keys in {directory} (REGISTRY_DATA_DIR); give the registry's "
            "published keys with --jwks (a file or its /.well-known/jwks.json)",
            err=True,
        )
        raise typer.Exit(2)
    return signing.KeyRing(keys, settings.token_ttl_seconds).verify_jws


@receipts_cli.command("verify")
def receipts_verify(
    receipt: Annotated[str, typer.Argument(help="The receipt, or - to read it from standard input")],
    jwks: Annotated[
        str | None,
        typer.Option(help="A JWKS file or URL (default: this registry's own keys)"),
    ] = None,
) -> None:
    """Verify a check receipt offline (a single check's JWS, or a batch item's Merkle proof and
    signed root); prints {"valid", "payload"} or {"valid": false, "reason"}, exits 0 or 1."""
    from app.checks import receipts
    from app.kit.signing import jwks_verifier

    text = sys.stdin.read().strip() if receipt == "-" else receipt.strip()
    verifier = _own_keys_verifier() if jwks is None else jwks_verifier(_read_jwks(jwks))
    try:
        payload = receipts.verify(text, verifier)
    except receipts.ReceiptInvalid as exc:
        typer.echo(json.dumps({"valid": False, "reason": str(exc)}, ensure_ascii=False))
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"valid": True, "payload": payload}, ensure_ascii=False))


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the public search index from every subject's current and former names."""
    from app.db import get_engine, refresh_statistics, session_scope
    from app.records.search_index import reindex

    prepare_database()
    with session_scope() as session:
        written = reindex(session)
    refresh_statistics(get_engine())
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
    """Push records from a file through the same checks as the API; report each refused line.

    CSV may be UTF-8 (with or without BOM) or GB18030/GBK, as Chinese Excel saves it; NDJSON is UTF-8.
    Progress goes to stderr; stdout carries only the JSON summary.
    """
    from collections import Counter

    from app.auth.scopes import Scope
    from app.auth.service import Principal
    from app.db import get_engine, refresh_statistics, session_scope
    from app.records import ingest, transfer

    fmt = _file_format(path, fmt)
    try:
        encoding = transfer.check_file(path, fmt)  # before anything is imported
    except transfer.TransferError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    prepare_database()
    _known_agency(agency)
    principal = Principal(client_id="cli", agency_code=agency, scopes=frozenset({Scope.records_write.value}))
    totals: Counter[str] = Counter()
    refused: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()

    def refuse(line: int, code: str, detail: str) -> None:
        totals["error"] += 1
        reasons[code] += 1
        refused.append({"line": line, "error": code, "detail": detail})

    broken: transfer.Broken | None = None
    try:
        with typer.progressbar(
            length=path.stat().st_size, label=f"importing {path.name}", file=sys.stderr
        ) as progress:
            for chunk in transfer.batched(transfer.read_items(path, fmt, encoding), batch):
                broken = next((item for _, item in chunk if isinstance(item, transfer.Broken)), broken)
                lines = [(line, item) for line, item in chunk if not isinstance(item, transfer.Broken)]
                items = [item for _, item in lines if not isinstance(item, transfer.Unreadable)]
                with session_scope() as session:
                    outcomes = iter(ingest.ingest(session, principal, items))
                for line, item in lines:  # in line order, unreadable lines among the others
                    if isinstance(item, transfer.Unreadable):
                        refuse(line, "validation_error", item.detail)
                    elif (outcome := next(outcomes)).error is not None:
                        refuse(line, outcome.error.code, outcome.error.detail)
                    else:
                        totals[outcome.status] += 1
                progress.update(sum(len(json.dumps(item, ensure_ascii=False)) for item in items))
    finally:
        if totals["created"]:
            refresh_statistics(get_engine())
    if broken is not None:  # a malformed CSV line: the lines before it are stored
        typer.echo(f"error: {broken.detail}", err=True)
        raise typer.Exit(2)
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
    """Write records (every status) as NDJSON or CSV, importable again with `records import`.

    CSV starts with a UTF-8 BOM so that Excel shows Chinese correctly; NDJSON is plain UTF-8.
    """
    from app.db import session_scope
    from app.kit.private import open_private
    from app.records import transfer

    fmt = _file_format(path, fmt)
    _writable(path)
    prepare_database()
    if agency is not None:
        _known_agency(agency)
    try:
        with (
            session_scope(writing=False) as session,
            open_private(path, "w", encoding=transfer.export_encoding(fmt), newline="") as handle,
        ):
            count = transfer.write_rows(transfer.export_rows(session, agency), handle, fmt)
    except OSError as exc:  # the disk full, the file gone: a sentence, never a traceback
        typer.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"exported": count, "file": str(path)}))


@extracts_cli.command("make")
def extracts_make(
    day: Annotated[
        str | None,
        typer.Option("--date", help="The day, YYYY-MM-DD (default: every day due, up to yesterday)"),
    ] = None,
) -> None:
    """Make the daily extracts now (the server makes them after midnight, China time); waits while
    another process is making them, and leaves extracts already made as they are."""
    from datetime import date

    from app.db import session_scope
    from app.errors import RegistryError
    from app.exchange import extracts, schedule

    prepare_database()
    try:
        if day is None:
            made = schedule.make_due(wait=True)
        else:
            with session_scope() as session:
                one = extracts.make_extracts(session, date.fromisoformat(day), wait=True)
            made = [one] if one is not None else []
    except ValueError as exc:
        typer.echo(f"error: --date: {exc}", err=True)
        raise typer.Exit(2) from None
    except RegistryError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    directory = str(extracts.extracts_dir())
    out = [
        {
            "date": entry.day.isoformat(),
            "made_now": entry.made_now,
            "files": [
                {"kind": row.kind, "count": row.count, "sha256": row.sha256, "path": row.path}
                for row in entry.extracts
            ],
        }
        for entry in made
    ]
    typer.echo(json.dumps({"directory": directory, "extracts": out}))


@extracts_cli.command("verify")
def extracts_verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An extract (.ndjson.gz)")],
    manifest: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Its day's manifest (the JWS, as served)")
    ],
    jwks: Annotated[
        str | None,
        typer.Option(help="The registry's JWKS, a file or URL (default: this registry's own keys)"),
    ] = None,
) -> None:
    """Verify an extract offline: the manifest's signature, then the file's SHA-256, the NDJSON's
    SHA-256, its line count and its order; prints {"valid", "date", "kind", "count", "problems"},
    exits 0 when valid, 1 when not, 2 when the files cannot be read as an extract and a manifest."""
    from collections.abc import Callable

    from app.exchange.verify import verify_extract
    from app.kit.signing import jwks_verifier

    verify_jws: Callable[[str], Any] = (
        _own_keys_verifier() if jwks is None else jwks_verifier(_read_jwks(jwks))
    )
    try:
        verdict = verify_extract(file, manifest.read_text(encoding="utf-8").strip(), verify_jws)
    except (OSError, UnicodeDecodeError, EOFError) as exc:  # e.g. the two files given the other way round
        typer.echo(
            f"error: cannot read {file} as an extract (.ndjson.gz) and {manifest} as its manifest (the "
            f"JWS as served): {type(exc).__name__}: {exc}",
            err=True,
        )
        raise typer.Exit(2) from None
    typer.echo(json.dumps(verdict.as_dict(), ensure_ascii=False))
    if not verdict.valid:
        raise typer.Exit(1)


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
def keys_rotate(
    activate_in: Annotated[
        int | None,
        typer.Option(
            "--activate-in",
            min=0,
            max=366 * 86400,  # a key to sign more than a year ahead is a typing slip, not a plan
            help="Seconds until the new key signs (default 5 with key files, 600 with REGISTRY_SIGNING_KEYS; "
            "at most a year)",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="With REGISTRY_SIGNING_KEYS: write their next value to this file (mode 600)"),
    ] = None,
) -> None:
    """Add a new signing key that signs from a moment ahead; older keys keep verifying."""
    import time

    from app import keys
    from app.kit import signing

    settings = get_settings()
    ttl = settings.token_ttl_seconds
    if not settings.signing_keys:
        delay = signing.FILE_ROTATION_DELAY_SECONDS if activate_in is None else activate_in
        at = time.time() + delay
        path = signing.generate_key_file(settings.data_dir / "keys", active_from=at)
        kid = signing.load_key(path.read_text()).kid
        typer.echo(
            f"new signing key {kid}: {path}\n"
            f"Running servers publish it within {keys.KEYS_RECHECK_SECONDS:g} seconds and sign with it "
            f"from {signing.iso_instant(at)}; no restart is needed. Tokens signed by the previous key are "
            f"accepted until {signing.iso_instant(at + ttl)}; its receipts, reports and checkpoints keep "
            f"verifying. Keep {path.parent} with your secrets (docs/operations.md)."
        )
        return
    delay = signing.ENV_ROTATION_DELAY_SECONDS if activate_in is None else activate_in
    at = time.time() + delay
    text = signing.rotated_keys_text(settings.signing_keys, at)
    kid = signing.keys_from_text(text)[0].kid
    if output is None:
        typer.echo(text, nl=False)
        where = "the text printed above (standard output)"
    else:
        from app.kit.private import open_private

        with open_private(output, "w") as handle:
            handle.write(text)
        where = f"the content of {output}"
    typer.echo(
        "Keys come from REGISTRY_SIGNING_KEYS, which a running server cannot re-read. To rotate:\n"
        f"1. Set REGISTRY_SIGNING_KEYS to {where}: the new key {kid} first, every current key kept.\n"
        f"2. Restart every server process before {signing.iso_instant(at)} (a rolling restart will do). "
        "Until then all of them sign with the current key; restarted ones already publish the new one "
        "in /.well-known/jwks.json and accept it.\n"
        f"3. From {signing.iso_instant(at)} the new key signs everywhere. Tokens signed by the old key "
        f"are accepted until {signing.iso_instant(at + ttl)}. Its receipts, reports and checkpoints "
        "verify for as long as it stays in the list: never remove it (after that instant its public "
        "key alone is enough: `openssl pkey -pubout`)."
        + (f"\n4. Delete {output} once the secret is stored." if output is not None else ""),
        err=True,
    )


@keys_cli.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    """The signing keys: which one signs, since when, and until when each verifies access tokens."""
    import math
    import time

    from app import keys
    from app.kit import signing

    keyring = keys.reload_keys()
    now, active = time.time(), keyring.active
    rows = []
    for key in keyring.ordered:
        until = keyring.token_keys_until[key.kid]
        pending = key.active_from is not None and key.active_from > now and key is not active
        rows.append(
            {
                "kid": key.kid,
                "state": "signing" if key is active else "next" if pending else "retired",
                "private": key.private_ec is not None,
                "active_from": None if key.active_from is None else signing.iso_instant(key.active_from),
                "tokens_until": "always"
                if until == math.inf
                else None
                if until == -math.inf
                else signing.iso_instant(until),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        tokens = row["tokens_until"] or "no tokens"
        typer.echo(f"{row['kid']}  {row['state']:<8} from {row['active_from'] or '-'}  tokens: {tokens}")


_FORMAT_BY_SUFFIX = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson"}


def _file_format(path: Path, given: str) -> str:
    """csv or ndjson: as given, else by the file's extension; anything else stops with exit 2 (a file
    named .xlsx was written or read as NDJSON without a word)."""
    fmt = given.lower() or _FORMAT_BY_SUFFIX.get(path.suffix.lower(), "")
    if fmt not in ("csv", "ndjson"):
        what = f"--format {given!r}" if given else f"the extension {path.suffix!r}"
        typer.echo(f"error: {what} names no format this command knows: give --format csv or ndjson", err=True)
        raise typer.Exit(2)
    return fmt


def _known_agency(code: str) -> None:
    from app.catalog import service as catalog
    from app.db import session_scope

    with session_scope(writing=False) as session:
        if code not in catalog.agency_names(session):
            typer.echo(f"error: no agency {code!r} in the catalog (`registry agencies list`)", err=True)
            raise typer.Exit(2)


@deliveries_cli.command("run")
def deliveries_run(
    once: Annotated[
        bool, typer.Option("--once", help="One round, then exit (default: keep delivering)")
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between rounds that found nothing to send")] = 0.5,
    nice: Annotated[
        int, typer.Option(help="Lower this process's CPU priority by this much (0: unchanged)", min=0, max=19)
    ] = 10,
    with_server: Annotated[
        int | None, typer.Option(hidden=True, help="The pid of the server that started it: end with it")
    ] = None,
) -> None:
    """Make the alerts and send the deliveries due: alerts' webhooks and subscribers' changes (what
    `registry serve` runs beside the servers on PostgreSQL, and each server process does on SQLite,
    unless REGISTRY_DELIVERY_POLL_SECONDS=0). Background work:
    by default it yields the CPU to the servers' pushes and checks on the same machine, catching up
    when they leave some (docs/benchmarks.md, "Monitoring")."""
    import asyncio

    from app.kit.gcpause import freeze_startup_objects
    from app.monitoring import delivery

    if nice and hasattr(os, "nice"):
        os.nice(nice)
    if with_server is not None:
        from app.monitoring.beside import stop_with_server

        stop_with_server(with_server)

    # What the worker loaded to run, out of the collector's sight: a full collection walked all of it
    # again and again while alerts were made, a third of the worker's CPU (docs/benchmarks.md).
    freeze_startup_objects()
    if once:
        typer.echo(json.dumps({"sent": asyncio.run(delivery.run_once())}))
        return
    asyncio.run(delivery.deliver_forever(poll))


@deliveries_cli.command("retry")
def deliveries_retry(
    watchlist: Annotated[str | None, typer.Option(help="Only this watchlist's failed deliveries")] = None,
) -> None:
    """Queue failed deliveries (and failed subscriptions) again, with 24 more hours of retries;
    prints {"deliveries", "subscriptions"} requeued."""
    import uuid

    from app.monitoring import delivery

    try:
        only = uuid.UUID(watchlist) if watchlist else None
    except ValueError:
        typer.echo(f"error: {watchlist!r} is not a watchlist id", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(delivery.retry_failed(only)))


def main() -> None:
    cli()


if __name__ == "__main__":  # `python -m app.cli`: how `registry serve` starts its delivery worker
    main()
