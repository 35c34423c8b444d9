"""create_app(): the routers, the one error handler, request metrics."""

from fastapi import FastAPI

from app.audit.router import router as audit_router
from app.auth.router import router as auth_router
from app.catalog.router import router as catalog_router
from app.errors import install_error_handlers
from app.health import router as health_router
from app.kit.metrics import RequestMetrics
from app.records.router import router as records_router


def create_app() -> FastAPI:
    app = FastAPI(
        title="Credit red/black list registry",
        version="0.1.0",
        description=(
            "Records of dishonest (black list) and trustworthy (red list) entities pushed by agencies, "
            "the sanction rules tied to each domain, approver checks with signed receipts, repair and "
            "objection cases, and the one-stop public query. Contract: design/API.md."
        ),
    )
    install_error_handlers(app)
    app.add_middleware(RequestMetrics)
    for router in (health_router, auth_router, catalog_router, records_router, audit_router):
        app.include_router(router)
    return app


app = create_app()
