"""Test fixtures: one database per run, built by `alembic upgrade head`, emptied between tests.

REGISTRY_TEST_DATABASE_URL picks the database (scripts/test sets it for PostgreSQL); by default
a fresh SQLite file in a temporary directory.
"""

import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

_tmp = Path(tempfile.mkdtemp(prefix="registry-test-"))
os.environ["REGISTRY_DATA_DIR"] = str(_tmp)
os.environ["REGISTRY_ENVIRONMENT"] = "test"
# The public rate limit is tested on its own (tests/public/test_ratelimit.py); elsewhere it stays out
# of the way of tests that ask many questions from one address.
os.environ["REGISTRY_PUBLIC_RATE_LIMIT"] = "1000000"
os.environ.pop("REGISTRY_REDIS_URL", None)
# The webhook worker is driven by hand in the monitoring tests (tests/monitoring): no background task.
os.environ["REGISTRY_DELIVERY_POLL_SECONDS"] = "0"
os.environ["REGISTRY_DATABASE_URL"] = (
    os.environ.get("REGISTRY_TEST_DATABASE_URL") or f"sqlite:///{_tmp}/test.db"
)

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from app import migrate  # noqa: E402
from app.auth.service import create_client  # noqa: E402
from app.catalog.seed import read_seed_catalog  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import get_engine, session_scope  # noqa: E402
from app.kit.identifiers import complete_uscc, resident_id_check_character  # noqa: E402
from app.main import app  # noqa: E402
from app.models import Base  # noqa: E402
from app.rules.seed import load_seed_measures_and_rules  # noqa: E402
from app.rules.service import invalidate_cache as invalidate_rule_cache  # noqa: E402
from app.seed import load_seed_catalog  # noqa: E402

# Every table a test may write to, children first: all but the catalog, which stays loaded across
# tests (a new feature's tables are cleaned without being listed here). The seed measures and rules
# are loaded again after each test (tests change rules).
_CATALOG_TABLES = {"agencies", "domains", "plans", "assignments"}
_MUTABLE_TABLES = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in _CATALOG_TABLES]


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    url = get_settings().resolved_database_url
    migrate.upgrade(url)
    with session_scope() as session:
        load_seed_catalog(session)
    yield url
    get_engine().dispose()


@pytest.fixture(autouse=True)
def clean_tables(database: str) -> Iterator[None]:
    yield
    with session_scope() as session:
        for table in _MUTABLE_TABLES:
            session.execute(delete(table))
        load_seed_measures_and_rules(session, read_seed_catalog())
    invalidate_rule_cache()


@pytest.fixture(autouse=True)
def forget_failed_authentications() -> Iterator[None]:
    """One test's wrong client secrets do not throttle the next test's token requests."""
    yield
    from app.auth import throttle

    throttle.forget()


# The calendar day the suite's dates were written against (record_body decides on 2026-11-18, a
# timely push four days later). The registry's clock runs on from it, so that a decision is not
# "late" or a publicity period "over" merely because the suite runs weeks after it was written.
SUITE_DAY = "2026-11-22T10:00"


@pytest.fixture(autouse=True)
def suite_day() -> Iterator[None]:
    from datetime import datetime

    from app.kit import clock as registry_clock

    registry_clock.shift(datetime.fromisoformat(SUITE_DAY).replace(tzinfo=registry_clock.CHINA))
    yield
    registry_clock.shift(None)


@pytest.fixture
def scratch_database_url(database: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the test database, dropped afterwards."""
    if database.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/scratch.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    scratch = make_url(database).set(database=f"{make_url(database).database}_scratch")
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    yield scratch.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def http() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


Headers = dict[str, str]


@pytest.fixture
def token_for(http: TestClient) -> Callable[..., Headers]:
    """token_for(agency, *scopes) -> Authorization headers of a fresh client of that agency."""

    def make(agency: str, *scopes: str) -> Headers:
        from app.kit import clock as registry_clock

        assert registry_clock._pinned is None, (
            "get tokens before pinning the clock (tokens expire in real time)"
        )
        with session_scope() as session:
            client = create_client(session, agency_code=agency, scopes=list(scopes), actor="test")
        answer = http.post(
            "/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    return make


# Agencies the seed plans make lead units: 公安部 for telecom fraud, 最高人民法院 for court judgments.
POLICE = "national.public_security"
COURT = "national.supreme_court"
TAX = "zaozhuang.taxation"


@pytest.fixture
def police(token_for: Callable[..., Headers]) -> Headers:
    return token_for(POLICE, "records:write", "records:read")


def make_uscc(serial: int, prefix: str = "91110000") -> str:
    """A valid unified social credit code (GB 32100-2015) numbered `serial`."""
    return complete_uscc(f"{prefix}{serial:08d}"[:16])


def make_resident_id(birth: date, serial: int = 1, area: str = "110101") -> str:
    """A valid resident identity number (GB 11643-1999) born on `birth`."""
    body = f"{area}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + resident_id_check_character(body)


# record_body's notice before listing (国办发〔2020〕49号): served five working days and more before
# the suite day, so that its serious black records may be pushed from 2026-11-17 on.
NOTICE_SERVED_ON = "2026-11-09"


def record_body(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid telecom-fraud black-list record of a company, numbered n, with the notice served
    before it (a serious black listing needs one)."""
    body: dict[str, Any] = {
        "external_id": f"ext-{n}",
        "domain": "telecom_fraud",
        "list_type": "black",
        "severity": "serious",
        "subject": {
            "kind": "legal_person",
            "name": f"测试科技有限公司{n}",
            "identifier_type": "uscc",
            "identifier": make_uscc(n),
        },
        "conduct": "为电信网络诈骗提供支付结算帮助",
        "decision_no": f"公刑罚字〔2026〕{n}号",
        "decision_date": "2026-11-18",
        "legal_basis": "《中华人民共和国反电信网络诈骗法》第三十一条",
        "notice": {"document_no": f"公(反诈)告字〔2026〕{n}号", "served_on": NOTICE_SERVED_ON},
    }
    for key, value in overrides.items():
        if key == "subject":
            body["subject"] = body["subject"] | value
        else:
            body[key] = value
    if "decision_date" in overrides and "notice" not in overrides:
        # Decided earlier: the notice was served two weeks before the decision (more than the
        # statement period's five working days), not after it.
        try:
            decided = date.fromisoformat(str(body["decision_date"]))
        except ValueError:  # a test of a malformed day: the notice does not matter
            return body
        served = min(date.fromisoformat(NOTICE_SERVED_ON), decided - timedelta(days=14))
        body["notice"] = body["notice"] | {"served_on": served.isoformat()}
    return body


@pytest.fixture
def clock() -> Iterator[Callable[[str], None]]:
    """clock("2026-11-18T10:00") pins the registry's clock to that China-time instant."""
    from datetime import datetime

    from app.kit import clock as registry_clock

    def pin(china_time: str) -> None:
        registry_clock.pin(datetime.fromisoformat(china_time).replace(tzinfo=registry_clock.CHINA))

    yield pin
    registry_clock.pin(None)


@pytest.fixture
def persons_published(http, token_for) -> Iterator[None]:
    """Natural persons' telecom-fraud and tax-fraud records published for one test. By default a
    domain only shares them between agencies (DOMAIN.md, second release); tests of what the public
    sees of a person publish them first, as an administrator would."""
    admin = token_for("national.market_regulation", "admin")
    domains = ("telecom_fraud", "tax_fraud")
    for domain in domains:
        rule = {"natural_persons": "public", "legal_basis": "测试：依法公示"}
        assert (
            http.put(f"/v1/admin/domains/{domain}/publication", json=rule, headers=admin).status_code == 200
        )
    yield
    for domain in domains:  # the catalog outlives a test
        http.put(f"/v1/admin/domains/{domain}/publication", json={"natural_persons": "shared"}, headers=admin)
