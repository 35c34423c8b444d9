"""Key rotation as a running service sees it: which keys verify tokens, and `registry keys rotate`
taking effect without a restart (key files) or saying exactly what to do (REGISTRY_SIGNING_KEYS)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jose import jwt
from typer.testing import CliRunner

from app.auth import service
from app.auth.service import create_client
from app.cli import cli
from app.db import session_scope
from app.errors import Unauthorized
from app.keys import get_keyring
from app.kit import signing
from tests.auth.keyfiles import key_file, own_keys
from tests.checks.helpers import approver, check
from tests.conftest import POLICE, record_body

ROOT = Path(__file__).resolve().parents[2]


def _client_claims(scopes=("records:read", "records:write", "admin")) -> dict:
    with session_scope() as session:
        client = create_client(session, agency_code=POLICE, scopes=list(scopes), actor="test")
    now = int(time.time())
    return {
        "iss": "credit-registry",
        "aud": "registry-api",
        "sub": client.client_id,
        "agency": POLICE,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + 600,
    }


def _push(http, token, n=1):
    return http.post("/v1/records", json=record_body(n), headers={"Authorization": f"Bearer {token}"})


def _token(http) -> str:
    with session_scope() as session:
        client = create_client(session, agency_code=POLICE, scopes=["records:write"], actor="test")
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    answer = http.post("/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _published(http) -> set[str]:
    return {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}


def _three_generations(directory: Path) -> list[tuple[str, Path]]:
    """Keys that signed from 3 hours ago (replaced 2 hours ago, longer than the 1-hour token
    lifetime), from 2 hours ago (replaced 10 minutes ago) and from 10 minutes ago (signing now)."""
    paths = [key_file(directory, hours) for hours in (3, 2, 1 / 6)]
    return [(signing.load_key(path.read_text()).kid, path) for path in paths]


def test_a_key_replaced_longer_than_the_token_lifetime_ago_verifies_no_token(http, tmp_path):
    retired, previous, active = (kid for kid, _ in _three_generations(tmp_path / "keys"))
    with own_keys(data_dir=tmp_path):
        keyring = get_keyring()
        assert keyring.active.kid == active

        def signed_by(kid: str, **overrides) -> str:
            return keyring.sign_jwt(_client_claims() | overrides, keyring.keys[kid])

        # What the outside review did: an old key, `exp` ten years out, `admin` scope.
        forged = signed_by(retired, exp=int(time.time()) + 10 * 365 * 86400)
        assert (
            http.get("/v1/admin/holidays", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        )
        answer = _push(http, signed_by(retired), 1)
        assert answer.status_code == 401 and "rotated out" in answer.json()["detail"]
        # A token from just before the last rotation still works for the rest of its life.
        assert _push(http, signed_by(previous), 2).status_code == 201
        assert _push(http, signed_by(active), 3).status_code == 201
        # Every key stays published: what the old ones signed (receipts, reports) still verifies.
        assert _published(http) == {retired, previous, active}
        assert keyring.verify_jws(keyring.sign_jws({"n": 1}, keyring.keys[retired])) == {"n": 1}


def test_the_token_cache_forgets_a_token_once_its_key_may_no_longer_verify_it(http, tmp_path, monkeypatch):
    _, (previous, previous_file), _ = _three_generations(tmp_path / "keys")
    with own_keys(data_dir=tmp_path):
        keyring = get_keyring()
        token = keyring.sign_jwt(_client_claims(), keyring.keys[previous])
        assert service.verify_token(token).agency_code == POLICE  # verified, and now cached
        # 51 minutes on: the token has not expired, but its key's window (replaced 10 minutes ago,
        # plus one token lifetime) has closed.
        later = time.time() + 51 * 60
        monkeypatch.setattr(time, "time", lambda: later)
        with pytest.raises(Unauthorized, match="rotated out"):
            service.verify_token(token)
        monkeypatch.undo()
        # A key removed from the key files stops verifying at once, cached or not.
        fresh = keyring.sign_jwt(_client_claims(), keyring.keys[previous])
        assert service.verify_token(fresh)
        previous_file.unlink()
        with pytest.raises(Unauthorized, match="unknown key"):
            service.verify_token(fresh)


def test_keys_rotate_in_another_process_takes_effect_without_a_restart(http, token_for, tmp_path):
    with own_keys(data_dir=tmp_path):
        before = _token(http)
        (old,) = _published(http)
        assert _kid(before) == old
        rotated = subprocess.run(
            [
                sys.executable,
                "-c",
                "from app.cli import main; main()",
                "keys",
                "rotate",
                "--activate-in",
                "0",
            ],
            env=os.environ | {"REGISTRY_DATA_DIR": str(tmp_path)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "no restart is needed" in rotated.stdout
        (new,) = _published(http) - {old}
        assert _kid(_token(http)) == new
        receipt = check(http, approver(token_for), 1, "financing")["receipt"]
        assert _kid(receipt) == new
        # The token from before the rotation keeps working for the rest of its life.
        assert _push(http, before).status_code == 201


def test_a_rotation_is_published_at_once_and_signs_from_its_instant(http, tmp_path):
    with own_keys(data_dir=tmp_path):
        (old,) = _published(http)
        result = CliRunner().invoke(cli, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        (new,) = _published(http) - {old}
        # Published for everyone to fetch before any process signs with it.
        assert _kid(_token(http)) == old
        listed = {
            row["kid"]: row for row in json.loads(CliRunner().invoke(cli, ["keys", "list", "--json"]).stdout)
        }
        assert listed[new]["state"] == "next" and listed[old]["state"] == "signing"
        assert new in result.output and "no restart is needed" in result.output


def test_rotating_environment_keys_says_what_to_do_and_restarted_processes_follow(http, tmp_path):
    current = signing.new_private_pem()
    with own_keys(signing_keys=current):
        (old,) = _published(http)
        before = _token(http)
        output = tmp_path / "next-keys.pem"
        result = CliRunner().invoke(cli, ["keys", "rotate", "--output", str(output)])
        assert result.exit_code == 0, result.output
        assert output.stat().st_mode & 0o777 == 0o600
        assert (
            "REGISTRY_SIGNING_KEYS" in result.stderr
            and "Restart every server process before" in result.stderr
        )
        assert "never remove it" in result.stderr and str(output) in result.stderr
        # A running process cannot see its environment change: nothing changed here.
        assert _published(http) == {old}
        text = output.read_text()
        assert current.strip() in text

    # A process restarted with the new value publishes the new key and, until the instant the
    # command named, still signs with the current one.
    with own_keys(signing_keys=text):
        (new,) = _published(http) - {old}
        assert signing.keys_from_text(text)[0].kid == new
        assert _kid(_token(http)) == old
        assert _push(http, before, 2).status_code == 201

    # At that instant the new key signs; the old key's tokens live on for their lifetime.
    with own_keys(signing_keys=current):
        now_value = CliRunner().invoke(cli, ["keys", "rotate", "--activate-in", "0"]).stdout
    with own_keys(signing_keys=now_value):
        newest = get_keyring().active.kid
        assert newest != old and _kid(_token(http)) == newest
        assert _push(http, before, 3).status_code == 201


@pytest.mark.parametrize("seconds", ["99999999999999999999", "9999999999", "-1"])
def test_a_key_to_sign_past_a_year_ahead_or_in_the_past_is_refused(seconds, tmp_path):
    with own_keys(data_dir=tmp_path):
        before = list(get_keyring().keys)
        result = CliRunner().invoke(cli, ["keys", "rotate", "--activate-in", seconds])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert list(get_keyring().keys) == before  # no key was made
