"""Checking an extract where it arrives, offline: the manifest's signature against the registry's
published keys (JWKS), then the file against the manifest: the SHA-256 of its bytes and of the NDJSON
inside, the number of lines, and that its ids come in order. Nothing here needs the database.
"""

import gzip
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.exchange.extracts import FORMAT, MANIFEST_TYPE
from app.kit.signing import SignatureError

_CHUNK = 1 << 20


@dataclass
class Verdict:
    valid: bool
    date: str | None = None
    kind: str | None = None
    count: int | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "date": self.date,
            "kind": self.kind,
            "count": self.count,
            "problems": self.problems,
        }


def manifest_payload(token: str, verify_jws: Callable[[str], Any]) -> dict[str, Any]:
    """The manifest a compact JWS carries, once its signature verifies and it is a manifest of
    extracts (not a receipt or a report signed by the same keys); raises SignatureError."""
    payload = verify_jws(token.strip())
    if not isinstance(payload, dict) or payload.get("typ") != MANIFEST_TYPE:
        raise SignatureError("it is not a manifest of extracts")
    if payload.get("format") != FORMAT:
        raise SignatureError(f"its format is {payload.get('format')!r}; this tool reads {FORMAT}")
    return payload


def verify_extract(path: Path, token: str, verify_jws: Callable[[str], Any]) -> Verdict:
    """Whether `path` is one of the files the signed manifest `token` describes, unaltered."""
    try:
        manifest = manifest_payload(token, verify_jws)
    except SignatureError as exc:
        return Verdict(False, problems=[f"the manifest: {exc}"])
    gz_digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            gz_digest.update(chunk)
    entries = {entry["sha256"]: entry for entry in manifest.get("files", [])}
    entry = entries.get(gz_digest.hexdigest())
    if entry is None:
        described = ", ".join(f"{e['kind']} {e['sha256']}" for e in manifest.get("files", []))
        return Verdict(
            False,
            date=manifest.get("date"),
            problems=[
                f"its SHA-256 is {gz_digest.hexdigest()}, which is none of the files of the manifest "
                f"of {manifest.get('date')} ({described}): altered, cut short, or of another day"
            ],
        )
    verdict = Verdict(True, date=manifest["date"], kind=entry["kind"], count=entry["count"])
    verdict.problems = _content_problems(path, entry)
    verdict.valid = not verdict.problems
    return verdict


def _content_problems(path: Path, entry: dict[str, Any]) -> list[str]:
    """What inside the gzip disagrees with the manifest (a file whose bytes match has nothing to
    disagree about; this holds the registry's own writing to account as well)."""
    text_digest, count, last, problems = hashlib.sha256(), 0, "", []
    try:
        with gzip.open(path, "rb") as lines:
            for line in lines:
                text_digest.update(line)
                count += 1
                record_id = str(orjson.loads(line)["id"])
                if record_id <= last:
                    problems.append(f"line {count}: id {record_id} is out of order")
                    break
                last = record_id
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        return [f"it cannot be read as gzipped NDJSON of records ({exc})"]
    if text_digest.hexdigest() != entry["ndjson_sha256"]:
        problems.append("the NDJSON inside does not have the SHA-256 the manifest gives")
    if count != entry["count"]:
        problems.append(f"it holds {count} lines; the manifest says {entry['count']}")
    return problems
