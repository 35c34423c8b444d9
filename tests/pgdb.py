"""Create or drop the throwaway PostgreSQL database a test run uses (called by scripts/test)."""

import os
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def create(server_url: str) -> str:
    base = make_url(server_url)
    name = f"registry_test_{os.getpid()}_{int(time.time())}"
    engine = _admin_engine(server_url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop(database_url: str) -> None:
    url = make_url(database_url)
    engine = _admin_engine(url.set(database="postgres").render_as_string(hide_password=False))
    with engine.connect() as connection:
        for name in (url.database, f"{url.database}_scratch"):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    command, url = sys.argv[1], sys.argv[2]
    try:
        if command == "create":
            print(create(url))
        else:
            drop(url)
    except Exception as exc:  # reported, and the caller decides whether it is fatal
        print(f"pgdb {command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
