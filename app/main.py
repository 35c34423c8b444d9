"""create_app(): the routers, the one error handler, request metrics."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.audit.router import router as audit_router
from app.auth.router import router as auth_router
from app.cases import hooks as cases_hooks
from app.cases.router import router as cases_router
from app.cases.service import MAX_FILE_BYTES
from app.catalog.router import router as catalog_router
from app.checks.router import router as checks_router
from app.checks.store import CheckStore, PostgresTransport, ThreadTransport
from app.config import get_settings
from app.db.asyncpool import AsyncPool
from app.errors import install_error_handlers
from app.exchange import schedule as extracts_schedule
from app.exchange.router import router as exchange_router
from app.health import router as health_router
from app.kit.gcpause import freeze_startup_objects, thaw
from app.kit.head import HeadAsGet
from app.kit.limits import BodyLimit, RouteLimit
from app.kit.observe import RequestObserver, start_log_writer, stop_log_writer
from app.kit.routing import tabulate_routes
from app.kit.secureheaders import SecurityHeaders
from app.monitoring import delivery as webhooks
from app.monitoring import hooks as monitoring
from app.monitoring.router import router as monitoring_router
from app.monitoring.service import alerts_for_oversight as watchlist_alerts
from app.notices.router import router as notices_router
from app.openapi import DOCS_ASSETS, install_offline_docs, install_openapi
from app.oversight.router import router as oversight_router
from app.public.router import bare_router
from app.public.router import lookup_router as public_lookup_router
from app.public.router import router as public_router
from app.public.web import CONTENT_SECURITY_POLICY, PageError, page_error
from app.public.web import refusal as web_refusal
from app.public.web import router as web_router
from app.records.integrity import altered_records
from app.records.router import router as records_router
from app.rules.integrity import altered_rules
from app.rules.router import router as rules_router
from app.screening.router import router as screening_router
from app.stats.router import router as stats_router

log = logging.getLogger("registry")
# An evidence file (5 MiB, app/cases/service.py) in its multipart envelope: boundaries, part
# headers and a form field or two.
MAX_UPLOAD_BYTES = MAX_FILE_BYTES + 64 * 1024


def run_sweep_once() -> int | None:
    from app.db import session_scope
    from app.records.expiry import sweep_expired

    with session_scope() as session:
        return sweep_expired(session)


async def _sweep_forever(interval: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(run_sweep_once)
        except Exception:  # the next round tries again; the failure is logged, not fatal
            log.exception("expiry sweep failed")


def warn_if_calendar_runs_short() -> None:
    """Log a warning when the working-day calendar knows fewer than 60 days ahead (DOMAIN.md: the
    service must say clearly when a date lies beyond what it knows, not only when a deadline hits it)."""
    from app.catalog.calendar import horizon_warning
    from app.db import session_scope

    try:
        with session_scope(writing=False) as session:
            warning = horizon_warning(session)
    except Exception:  # the database may not be up yet: the server still starts, /readyz says why
        log.warning("could not read the working-day calendar at startup", exc_info=True)
        return
    if warning:
        log.warning(warning)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    start_log_writer()  # log lines formatted and written by a thread of their own from now on
    await run_in_threadpool(warn_if_calendar_runs_short)
    # PostgreSQL: one async pool for the primary (and one for a read replica), shared by the checks
    # and the public lookup on the event loop (app.db.asyncpool); SQLite: worker threads.
    pools: list[AsyncPool] = []
    if settings.is_sqlite:
        app.state.checks, app.state.read_pool = CheckStore(ThreadTransport()), None
    else:
        pools.append(AsyncPool(settings.resolved_database_url))
        if settings.read_database_url:
            pools.append(AsyncPool(settings.read_database_url))
        app.state.checks, app.state.read_pool = CheckStore(PostgresTransport(pools[0])), pools[-1]
    interval = settings.sweep_interval_seconds
    tasks = []
    if interval > 0:
        tasks.append(asyncio.create_task(_sweep_forever(interval)))
        # The daily extracts (app.exchange.schedule): looked for at the same pace.
        tasks.append(asyncio.create_task(extracts_schedule.make_forever(interval)))
    if settings.delivery_poll_seconds > 0:
        # The webhooks of watchlists' alerts and the change feed's subscribers (app.monitoring.delivery).
        tasks.append(asyncio.create_task(webhooks.deliver_forever(settings.delivery_poll_seconds)))
    freeze_startup_objects()
    yield
    thaw()
    for task in tasks:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    for pool in pools:
        await pool.close()
    stop_log_writer()


# The document's sections in reading order (the routers' order below is the matching order instead).
_TAGS = [
    {"name": "operations", "description": "Liveness, readiness, the receipts' public keys"},
    {"name": "auth", "description": "Access tokens for agencies' clients"},
    {"name": "catalog", "description": "Domains, agencies, the working-day calendar"},
    {"name": "records", "description": "Red and black list records pushed by agencies, and subjects"},
    {"name": "administration", "description": "Measures, rules, publicity periods, statistics"},
    {"name": "rules", "description": "The sanction and incentive rules in force"},
    {"name": "checks", "description": "Approvers' checks with signed receipts, and their feedback"},
    {"name": "cases", "description": "Credit repair, objections, exits"},
    {"name": "exchange", "description": "Daily signed extracts of the records in force"},
    {"name": "monitoring", "description": "Watchlists, their alerts and webhooks; change-feed subscriptions"},
    {"name": "public", "description": "The one-stop public query"},
    {"name": "audit", "description": "The audit log"},
]


def _install_limits(app: FastAPI) -> None:
    """Bodies bounded in size and time (uploads: a file plus its multipart envelope), and the
    browsers' security headers (the pages' own policy; the API docs keep theirs but never framed)."""
    settings = get_settings()
    upload = RouteLimit("POST", re.compile(r"/v1/public/cases/[^/]+/files|/reports/[^/]+"), MAX_UPLOAD_BYTES)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout_seconds=settings.body_timeout_seconds,
        routes=[upload],
        render=web_refusal,
    )
    docs = {path: "frame-ancestors 'none'" for path in ("/docs", "/docs/oauth2-redirect", "/redoc")}
    app.add_middleware(
        SecurityHeaders,
        page_policy=CONTENT_SECURITY_POLICY,
        path_policies=docs,
        static_prefixes=(DOCS_ASSETS,),
    )


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="Credit red/black list registry",
        version="0.1.0",
        description=(
            "Records of dishonest (black list) and trustworthy (red list) entities pushed by agencies, "
            "the sanction rules tied to each domain, approver checks with signed receipts, repair and "
            "objection cases, and the one-stop public query. Contract: design/API.md."
        ),
        openapi_tags=_TAGS,
        docs_url=None,  # served by install_offline_docs, without a CDN
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks: unused here (Prometheus at /metrics, JSON log lines),
        # and asked whether they are configured on every request unless turned off.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    install_openapi(app)
    install_offline_docs(app)
    # Every change writes its outbox row for watchlists in its own transaction; alerts are made from
    # it after commit (app.monitoring.alerts).
    monitoring.install()
    # Open cases get the deadline the calendar could not tell once it knows it (app.cases.hooks).
    cases_hooks.install()
    # Audit verification holds record rows against their last entries: the check lives with the
    # records (app.audit, the lower layer, imports none of them).
    app.state.audit_record_check = altered_records
    app.state.audit_rules_check = altered_rules
    # The access log shows the watchlists' alerts beside reads and checks (app.oversight and
    # app.monitoring are features side by side: neither imports the other).
    app.state.watchlist_alerts = watchlist_alerts
    app.add_exception_handler(PageError, page_error)
    app.add_middleware(HeadAsGet)
    _install_limits(app)
    app.add_middleware(RequestObserver)
    # A request is matched against the routers in this order (the most frequent first: probes,
    # approvers' checks, the public's one-stop queries), all in one table that passes over a router
    # none of whose paths can begin the request's (app.kit.routing.tabulate_routes;
    # docs/benchmarks.md has the figures). No router may take another's paths, so that the order
    # changes nothing but speed (tests/ops/test_observe.py).
    for router in (
        health_router,
        bare_router,
        checks_router,
        public_lookup_router,
        public_router,
        screening_router,
        auth_router,
        catalog_router,
        records_router,
        exchange_router,
        monitoring_router,
        rules_router,
        cases_router,
        notices_router,
        audit_router,
        oversight_router,
        stats_router,
        web_router,
    ):
        app.include_router(router)
    tabulate_routes(app)
    return app


app = create_app()
