"""A misconfigured environment: every `registry` command says in one sentence what to set (exit 2)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REGISTRY = Path(sys.executable).parent / "registry"
COMMANDS = [
    ["serve"],
    ["migrate"],
    ["sweep"],
    ["audit", "verify"],
    ["keys", "rotate"],
    ["clients", "list"],
    ["records", "export", "out.csv"],
]


def _run(args: list[str], tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    env |= {"REGISTRY_DATA_DIR": str(tmp_path)} | settings
    return subprocess.run(
        [str(REGISTRY), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False
    )


def _one_sentence(ran: subprocess.CompletedProcess[str]) -> str:
    assert ran.returncode == 2, ran.stderr
    assert ran.stdout == ""
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr  # no traceback
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_production_without_signing_keys(args, tmp_path):
    ran = _run(args, tmp_path, REGISTRY_ENVIRONMENT="production")
    assert _one_sentence(ran).startswith("error: REGISTRY_SIGNING_KEYS must be set in production")


def test_production_on_sqlite(tmp_path):
    ran = _run(
        ["migrate"],
        tmp_path,
        REGISTRY_ENVIRONMENT="production",
        REGISTRY_SIGNING_KEYS="-----BEGIN PRIVATE KEY-----",
        REGISTRY_PUBLIC_BASE_URL="https://registry.example.cn",
        REGISTRY_DATABASE_URL=f"sqlite:///{tmp_path}/registry.db",
    )
    assert _one_sentence(ran).startswith("error: REGISTRY_DATABASE_URL must name a PostgreSQL database")


def test_a_value_of_the_wrong_type_names_its_variable(tmp_path):
    ran = _run(["migrate"], tmp_path, REGISTRY_PORT="eighty")
    assert _one_sentence(ran).startswith("error: REGISTRY_PORT is not valid: Input should be a valid integer")


def test_help_still_works_when_misconfigured(tmp_path):
    ran = _run(["--help"], tmp_path, REGISTRY_ENVIRONMENT="production")
    assert ran.returncode == 0 and "records" in ran.stdout
