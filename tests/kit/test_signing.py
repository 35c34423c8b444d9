"""The one signing module: one base64url, one canonical JSON, one ES256 JWS, and keys that rotate."""

import base64
import json
import os
import time
import uuid
from datetime import UTC, date, datetime

import orjson
import pytest
from jose import jws, jwt

from app import keys
from app.audit import service as audit
from app.kit import signing
from app.kit.signing import KeyRing, SignatureError
from tests.auth.keyfiles import own_keys, stamp

TTL = 3600


def _ring(*keys: signing.SigningKey, ttl: int = TTL) -> KeyRing:
    return KeyRing(list(keys), ttl)


def _key(active_from: float | None = None) -> signing.SigningKey:
    return signing.load_key(signing.new_private_pem(), active_from)


def _claims(now: float, **overrides):
    claims = {"iss": "me", "aud": "api", "sub": "c", "iat": int(now), "exp": int(now) + 600}
    return claims | overrides


# --- base64url and canonical JSON ------------------------------------------------------------------


def test_b64url_round_trips_and_refuses_what_is_not_unpadded_base64url():
    for length in range(0, 70):
        raw = os.urandom(length)
        encoded = signing.b64url(raw)
        assert encoded == base64.urlsafe_b64encode(raw).rstrip(b"=")
        assert signing.b64url_decode(encoded) == raw == signing.b64url_decode(encoded.decode())
    # "ab" spells b"i" with spare bits set: only "aQ" is its spelling.
    assert signing.b64url_decode("aQ") == b"i"
    for bad in ("ab==", "ab+/", "a b", "abcde", "ab\n", "é", "ab"):
        with pytest.raises(ValueError):
            signing.b64url_decode(bad)


def test_canonical_json_is_the_audit_chains_byte_for_byte():
    values = [
        {"b": 1, "a": [1, 2.5, None, True], "中": "文"},
        {
            "nested": {"z": {"y": 1, "x": 2}},
            "when": datetime(2026, 12, 6, 10, tzinfo=UTC),
            "day": date(2026, 1, 1),
        },
        {1: "non-string keys", "id": uuid.UUID(int=7)},
        [],
        "text",
    ]
    for value in values:
        assert signing.canonical_json(value) == audit.canonical_json(value).encode()
    # And what receipts were signed over before: sorted keys, no spaces, UTF-8.
    receipt = {"typ": "registry-check-receipt", "subject": "91110000000000001X", "measures": ["a"], "n": 1}
    assert signing.canonical_json(receipt) == orjson.dumps(receipt, option=orjson.OPT_SORT_KEYS)


# --- One JWS ----------------------------------------------------------------------------------------


def test_a_jws_is_standard_es256_that_python_jose_verifies_and_the_other_way_round():
    key = _key()
    ring = _ring(key)
    token = ring.sign_jws({"b": 1, "a": "中文"})
    assert jws.get_unverified_header(token) == {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    assert json.loads(jws.verify(token, key.public_jwk, algorithms=["ES256"])) == {"a": "中文", "b": 1}
    assert token.split(".")[1] == signing.b64url(signing.canonical_json({"a": "中文", "b": 1})).decode()
    assert key.private_pem is not None
    by_jose = jws.sign(b'{"x":1}', key.private_pem.decode(), headers={"kid": key.kid}, algorithm="ES256")
    assert ring.verify_jws(by_jose) == {"x": 1}


def test_what_is_not_a_jws_of_ours_is_refused():
    key, stranger = _key(), _key()
    ring = _ring(key)
    token = ring.sign_jws({"decision": "clear"})
    header, body, sig = token.split(".")
    forged_body = signing.b64url(b'{"decision":"incentive"}').decode()
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    none_header = signing.b64url(json.dumps({"alg": "none", "kid": key.kid}).encode()).decode()
    crit_header = signing.b64url(
        json.dumps({"alg": "ES256", "kid": key.kid, "crit": ["b64"]}).encode()
    ).decode()
    hs256 = jwt.encode({"a": 1}, json.dumps(key.public_jwk), algorithm="HS256", headers={"kid": key.kid})
    refused = {
        "tampered payload": f"{header}.{forged_body}.{sig}",
        "tampered signature": f"{header}.{body}.{flipped}",
        "alg none": f"{none_header}.{body}.",
        "alg HS256 with the public key": hs256,
        "unknown critical header": f"{crit_header}.{body}.{sig}",
        "another key": _ring(stranger).sign_jws({"decision": "clear"}),
        "another key under our kid": _ring(stranger)
        .sign_jws({"a": 1})
        .replace(_ring(stranger).jws_input({})[0].decode(), header),
        "garbage": "not.a.jws",
        "two parts": "abc.def",
        "padded": f"{header}.{body}.{sig}==",
    }
    for name, candidate in refused.items():
        with pytest.raises(SignatureError):
            ring.verify_jws(candidate)
            pytest.fail(name)


# --- Which key signs, and which keys verify tokens ---------------------------------------------------


def test_the_newest_active_key_signs_and_a_key_named_for_later_is_only_published():
    now = time.time()
    later, current, older = _key(now + 60), _key(now - 600), _key(None)
    ring = _ring(later, current, older)
    assert ring.active is current
    assert [key["kid"] for key in ring.jwks()["keys"]] == [later.kid, current.kid, older.kid]
    assert (
        signing.KeyRing([_key(now + 60)], TTL).active.private_ec is not None
    )  # nothing active yet: it signs


def test_tokens_verify_with_a_replaced_key_for_one_token_lifetime_only():
    now = time.time()
    newest, middle, oldest = _key(now - 600), _key(now - 7200), _key(now - 10800)
    ring = _ring(newest, middle, oldest)
    claims = _claims(now)
    assert ring.verify_jwt(ring.sign_jwt(claims, newest), audience="api", issuer="me", now=now)[0] == claims
    # Replaced 10 minutes ago: its tokens stay good until 50 minutes from now, and no longer.
    full_life = _claims(now, exp=int(now) + TTL)
    _, valid_until = ring.verify_jwt(ring.sign_jwt(full_life, middle), audience="api", issuer="me", now=now)
    assert valid_until == pytest.approx(now - 600 + TTL)
    with pytest.raises(SignatureError, match="rotated out"):
        ring.verify_jwt(
            ring.sign_jwt(_claims(now + 3000), middle), audience="api", issuer="me", now=now + 3100
        )
    # Replaced two hours ago: no token at all; what it signed otherwise still verifies.
    with pytest.raises(SignatureError, match="rotated out"):
        ring.verify_jwt(ring.sign_jwt(claims, oldest), audience="api", issuer="me", now=now)
    assert ring.verify_jws(ring.sign_jws({"receipt": 1}, oldest)) == {"receipt": 1}


def test_a_key_whose_replacement_time_is_unknown_or_a_public_key_verifies_no_token():
    now = time.time()
    current, older = _key(None), _key(None)  # REGISTRY_SIGNING_KEYS as they were written before
    public_only = signing.public_key_from_jwk(older.public_jwk)
    ring = _ring(current, older)
    with pytest.raises(SignatureError, match="rotated out"):
        ring.verify_jwt(ring.sign_jwt(_claims(now), older), audience="api", issuer="me", now=now)
    assert ring.verify_jwt(ring.sign_jwt(_claims(now), current), audience="api", issuer="me", now=now)
    with_public = _ring(_key(None), public_only)
    assert public_only.kid == older.kid
    with pytest.raises(SignatureError, match="rotated out"):
        with_public.verify_jwt(_ring(older).sign_jwt(_claims(now)), audience="api", issuer="me", now=now)
    assert with_public.verify_jws(_ring(older).sign_jws({"report": 1})) == {"report": 1}


def _without(*names):
    return lambda claims, now: {name: value for name, value in claims.items() if name not in names}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_without("aud"), "lacks the aud claim"),
        (_without("iss"), "lacks the iss claim"),
        (_without("iat", "exp"), "lacks the iat, exp claims"),
        (lambda c, now: c | {"aud": "elsewhere"}, "another audience"),
        (lambda c, now: c | {"aud": ["elsewhere"]}, "another audience"),
        (lambda c, now: c | {"iss": "someone"}, "issued by someone else"),
        (lambda c, now: c | {"exp": "2030-01-01"}, "must be numbers"),
        (lambda c, now: c | {"iat": True}, "must be numbers"),
        (lambda c, now: c | {"exp": c["iat"] + 10 * 365 * 86400}, "lives longer"),
        (lambda c, now: c | {"exp": c["iat"] + TTL + 1}, "lives longer"),
        (lambda c, now: c | {"iat": int(now) + 600, "exp": int(now) + 900}, "issued in the future"),
        (lambda c, now: c | {"iat": int(now) - 700, "exp": int(now) - 100}, "expired"),
        (lambda c, now: c | {"nbf": int(now) + 600}, "not valid yet"),
    ],
)
def test_token_claims_are_required_and_bounded(change, reason):
    now = time.time()
    ring = _ring(_key())
    token = ring.sign_jwt(change(_claims(now), now))
    with pytest.raises(SignatureError, match=reason):
        ring.verify_jwt(token, audience="api", issuer="me", now=now)


def test_a_list_audience_naming_us_is_accepted():
    now = time.time()
    ring = _ring(_key())
    token = ring.sign_jwt(_claims(now, aud=["other", "api"]))
    assert ring.verify_jwt(token, audience="api", issuer="me", now=now)[0]["aud"] == ["other", "api"]


# --- Where keys come from ---------------------------------------------------------------------------


def test_environment_keys_read_their_activation_and_ignore_other_text():
    now = time.time()
    new, old = signing.new_private_pem(), signing.new_private_pem()
    text = f"# rotated by the operator\nActive from: {stamp(now + 600)}\n{new}\nsome note\n{old}"
    keys = signing.keys_from_text(text)
    assert [key.active_from for key in keys] == [pytest.approx(int(now + 600)), None]
    ring = KeyRing(keys, TTL)
    assert ring.active.kid == keys[1].kid
    assert ring.token_keys_until[keys[1].kid] == pytest.approx(int(now + 600) + TTL)
    with pytest.raises(ValueError, match="time zone"):
        signing.keys_from_text(f"Active from: 2026-12-06T10:00:00\n{new}")


def test_the_rotated_environment_value_puts_a_new_key_first_and_keeps_every_key():
    now = time.time()
    current = f"Active from: {stamp(now - 86400)}\n{signing.new_private_pem()}\n{signing.new_private_pem()}"
    rotated = signing.rotated_keys_text(current, now + 600)
    before, after = signing.keys_from_text(current), signing.keys_from_text(rotated)
    assert [key.kid for key in after[1:]] == [key.kid for key in before]
    assert after[0].kid not in {key.kid for key in before}
    assert after[0].active_from == pytest.approx(int(now + 600))
    ring = KeyRing(after, TTL)
    assert ring.active.kid == before[0].kid  # until the instant named
    assert ring.token_keys_until[before[0].kid] == pytest.approx(int(now + 600) + TTL)


def test_a_running_process_notices_a_key_file_written_by_another(tmp_path):
    directory = tmp_path / "keys"
    with own_keys(data_dir=tmp_path):
        first = keys.get_keyring()
        assert keys.get_keyring() is first  # nothing changed: the same keyring
        # Another process (`registry keys rotate`) writes a key file.
        path = signing.generate_key_file(directory)
        second = keys.get_keyring()
        assert second is not first
        assert second.active.kid == signing.load_key(path.read_text()).kid
        assert set(second.keys) == set(first.keys) | {second.active.kid}
        assert path.stat().st_mode & 0o777 == 0o600 and directory.stat().st_mode & 0o077 == 0
        # Within the recheck interval a process does not even look (a few seconds at most).
        keys.KEYS_RECHECK_SECONDS = 60.0
        assert keys.reload_keys() is second
        signing.generate_key_file(directory)
        assert keys.get_keyring() is second


def test_public_key_files_verify_but_never_sign(tmp_path):
    signer = _key()
    directory = tmp_path / "keys"
    directory.mkdir()
    (directory / f"public-{signer.kid}.pem").write_text(signing.public_pem(signer.public_ec))
    ring = signing.KeyRing([*signing.keys_from_directory(directory), _key()], TTL)
    assert ring.active.kid != signer.kid
    assert ring.verify_jws(_ring(signer).sign_jws({"r": 1})) == {"r": 1}


def test_an_unreadable_key_file_does_not_stop_a_running_process(tmp_path, caplog):
    with own_keys(data_dir=tmp_path):
        working = keys.get_keyring()
        (tmp_path / "keys" / "signing-broken.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key")
        assert keys.get_keyring() is working
        assert "keeping the keys already loaded" in caplog.text
        (tmp_path / "keys" / "signing-broken.pem").unlink()
        (tmp_path / "keys" / ".signing-x.pem.partial").write_text("being written")
        assert keys.get_keyring() is working  # files being written are not looked at


def test_a_published_jwks_verifies_what_the_registry_signed_and_nothing_else():
    key = _key()
    ring = _ring(key, _key(None))
    verify = signing.jwks_verifier(json.loads(json.dumps(ring.jwks())))  # as fetched over HTTP
    assert verify(ring.sign_jws({"checkpoint": 7})) == {"checkpoint": 7}
    with pytest.raises(SignatureError, match="unknown key"):
        verify(_ring(_key()).sign_jws({"checkpoint": 7}))
    with pytest.raises(ValueError, match="only verify"):
        KeyRing([signing.public_key_from_jwk(key.public_jwk)], TTL).sign_jws({"n": 1})


def test_environment_keys_need_a_private_key(tmp_path):
    from app.config import Settings

    public = signing.public_pem(_key().public_ec)
    with pytest.raises(ValueError, match="no private key"):
        keys.keyring_from_settings(Settings(data_dir=tmp_path, signing_keys=public))
