"""Faults against the real server and the local PostgreSQL: `scripts/faults`.

1. PostgreSQL stopped in the middle of a batch push: the push must answer 503 with Retry-After and
   store nothing; once PostgreSQL is back, the same push retried gives exactly the records expected
   (count and content compared with what was sent).
2. The API process killed (SIGKILL) while agencies push one record at a time: every push that was
   acknowledged (201) must be readable after a restart.

It stops and starts the local cluster with pg_ctlcluster: do not run it beside other work that uses
that server. Each scenario is bounded in time and restores PostgreSQL before it returns.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from scripts.benchmarks import harness, records

AGENCY = "national.public_security"
SCOPES = ("records:write", "records:read")
PG_SERVER = os.environ.get(
    "REGISTRY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    if action == "stop":
        command += ["-m", "fast"]  # disconnects the server's sessions, as a crash or failover would
    subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False)


def _wait_ready(client: httpx.Client, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise harness.BenchFailure("the server did not become ready again")


def _stored(client: httpx.Client, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every record of the agency, by external_id."""
    found: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = client.get(f"/v1/records?limit=500&offset={offset}", headers=headers).json()
        for item in page["items"]:
            found[item["external_id"]] = item
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return found


def _same_content(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    keys = ("domain", "list_type", "severity", "conduct", "decision_no", "decision_date", "legal_basis")
    return all(sent[key] == stored[key] for key in keys) and (
        sent["subject"]["identifier"] == stored["subject"]["identifier"]
    )


def postgres_stopped_mid_batch(size: int, stop_after: float) -> dict[str, Any]:
    with (  # noqa: SIM117 - the server needs the database made just before it
        harness.temp_dir("faults-pg-") as tmp,
        harness.postgres_database(PG_SERVER, f"registry_faults_{os.getpid()}") as url,
    ):
        with harness.RegistryServer(database_url=url, data_dir=tmp, workers=2) as server:
            token = server.client_token(AGENCY, SCOPES)
            headers = {"Authorization": f"Bearer {token}"}
            bodies = records.generate(size, tag="fault")
            answer: dict[str, Any] = {}

            def push() -> None:
                with httpx.Client(base_url=server.base_url, timeout=120) as pusher:
                    try:
                        response = pusher.post("/v1/records/batch", json={"records": bodies}, headers=headers)
                        answer.update(
                            status=response.status_code,
                            headers=dict(response.headers),
                            body=response.text[:300],
                        )
                    except httpx.TransportError as exc:
                        answer.update(status=None, error=type(exc).__name__)

            pushing = threading.Thread(target=push)
            pushing.start()
            time.sleep(stop_after)
            _cluster("stop")
            pushing.join(timeout=120)
            _cluster("start")
            with httpx.Client(base_url=server.base_url, timeout=120) as client:
                _wait_ready(client)
                first_status = answer.get("status")
                stored_between = len(_stored(client, headers)) if first_status != 200 else None
                retry = client.post("/v1/records/batch", json={"records": bodies}, headers=headers).json()
                stored = _stored(client, headers)
            mismatched = [
                b["external_id"]
                for b in bodies
                if b["external_id"] not in stored or not _same_content(b, stored[b["external_id"]])
            ]
            result = {
                "scenario": "postgresql stopped mid-batch",
                "batch": size,
                "first_answer": first_status,
                "retry_after": answer.get("headers", {}).get("retry-after"),
                "error": (
                    json.loads(answer["body"]).get("error")
                    if first_status and answer.get("body", "").startswith("{")
                    else answer.get("error")
                ),
                "stored_after_failure": stored_between,
                "retry": {k: retry[k] for k in ("created", "unchanged", "errors")},
                "stored": len(stored),
                "content_mismatches": len(mismatched),
            }
            failed_cleanly = first_status == 503 and result["retry_after"] and stored_between == 0
            result["ok"] = bool(
                (failed_cleanly or first_status == 200)
                and len(stored) == size
                and not mismatched
                and retry["errors"] == 0
            )
            if first_status == 200:
                result["note"] = (
                    "the batch finished before PostgreSQL stopped; raise --batch or lower --stop-after"
                )
            return result


def api_killed_mid_request(seconds: float) -> dict[str, Any]:
    with (
        harness.temp_dir("faults-kill-") as tmp,
        harness.postgres_database(PG_SERVER, f"registry_kill_{os.getpid()}") as url,
    ):
        server = harness.RegistryServer(database_url=url, data_dir=tmp, workers=1)
        with server:
            token = server.client_token(AGENCY, SCOPES)
            headers = {"Authorization": f"Bearer {token}"}
            bodies = records.generate(100_000, tag="kill")
            acknowledged: list[str] = []
            failures = 0
            stop = threading.Event()

            def push() -> None:
                nonlocal failures
                with httpx.Client(base_url=server.base_url, timeout=10) as pusher:
                    for body in bodies:
                        if stop.is_set():
                            return
                        try:
                            response = pusher.post("/v1/records", json=body, headers=headers)
                        except httpx.TransportError:
                            failures += 1
                            return
                        if response.status_code == 201:
                            acknowledged.append(response.json()["id"])

            pushing = threading.Thread(target=push)
            pushing.start()
            time.sleep(seconds)
            assert server.process is not None
            os.killpg(server.process.pid, signal.SIGKILL)  # no shutdown, no flush: a crash
            pushing.join(timeout=30)
            stop.set()
            server.process.wait(timeout=15)
            server.process = None
            server.start()
            with httpx.Client(base_url=server.base_url, timeout=30) as client:
                # A token made before the crash is still valid: tokens are signed, not stored.
                lost = [
                    rid
                    for rid in acknowledged
                    if client.get(f"/v1/records/{rid}", headers=headers).status_code != 200
                ]
                auditor = server.client_token("national.credit_office", ["audit:read"])
                verify = client.get(
                    "/v1/admin/audit/verify", headers={"Authorization": f"Bearer {auditor}"}
                ).json()
        return {
            "scenario": "API process killed mid-request",
            "acknowledged": len(acknowledged),
            "lost": len(lost),
            "audit_chain_valid": verify.get("valid"),
            "ok": bool(acknowledged) and not lost and verify.get("valid") is True,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/faults", description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=10_000, help="records in the interrupted batch")
    parser.add_argument(
        "--stop-after", type=float, default=0.6, help="seconds into the push to stop PostgreSQL"
    )
    parser.add_argument("--kill-after", type=float, default=5.0, help="seconds of pushing before the kill")
    args = parser.parse_args(argv)
    harness.ensure_postgres(PG_SERVER)
    results = []
    try:
        results.append(postgres_stopped_mid_batch(args.batch, args.stop_after))
        results.append(api_killed_mid_request(args.kill_after))
    finally:
        harness.ensure_postgres(PG_SERVER)
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    path = harness.write_results("faults", {"results": results})
    print(f"figures written to {path}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
