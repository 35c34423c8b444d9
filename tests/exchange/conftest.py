"""The extracts' index and files are emptied after each test (the shared fixtures know nothing of them)."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from app.db import session_scope
from app.exchange.extracts import extracts_dir
from app.exchange.models import Extract


@pytest.fixture(autouse=True)
def no_extracts_left() -> Iterator[Path]:
    yield extracts_dir()
    with session_scope() as session:
        session.execute(delete(Extract))
    shutil.rmtree(extracts_dir(), ignore_errors=True)
