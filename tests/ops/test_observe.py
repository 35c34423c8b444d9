"""Per-request observation: the access log written off the request path, the request metrics, the
request ids, and the routers' quick refusal of paths they cannot match."""

import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import date

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Match

from app.kit import observe
from app.kit.routing import CHOSEN_ROUTE, RouteTable, leaf_routes
from app.main import app
from tests.conftest import make_resident_id
from tests.ops.servers import registry_serve


def _metrics(http) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _requests(samples, route: str, status: str) -> float:
    key = ("registry_requests_total", (("method", "GET"), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def _latency_count(samples, route: str) -> float:
    return samples.get(("registry_request_seconds_count", (("method", "GET"), ("route", route))), 0.0)


def test_the_access_log_is_written_by_its_own_thread_with_ids_statuses_and_masked_numbers(http):
    output = io.StringIO()
    target = logging.StreamHandler(output)
    target.setFormatter(observe.JsonFormatter())
    handler = observe.OffPathHandler(target)
    root = logging.getLogger()
    root.addHandler(handler)
    level = observe.access_log.level
    observe.access_log.setLevel(logging.INFO)
    person = make_resident_id(date(1990, 5, 17))
    try:
        handler.start()
        answers = [
            http.get("/healthz"),
            http.get(f"/v1/public/subjects/{person}", headers={"X-Request-ID": "caller-chosen-id"}),
            http.get("/no/such/page"),
        ]
    finally:
        handler.stop()  # writes every queued line before it returns
        root.removeHandler(handler)
        observe.access_log.setLevel(level)
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "registry.access"]
    assert [(line["request_id"], line["status"]) for line in access] == [
        (answer.headers["x-request-id"], answer.status_code) for answer in answers
    ]
    assert access[1]["request_id"] == "caller-chosen-id"
    assert access[1]["path"] == f"/v1/public/subjects/{person[:10]}********"
    assert access[1]["route"] == "/v1/public/subjects/{key}"
    assert access[2]["route"] == "unmatched" and access[2]["status"] == 404


def test_a_served_registry_writes_its_access_lines_and_all_of_them_by_the_time_it_stops(database):
    output: list[str] = []
    person = make_resident_id(date(1990, 5, 17))
    with registry_serve(output=output, log_level="INFO") as base:
        ids = [httpx.get(f"{base}/healthz").headers["x-request-id"] for _ in range(20)]
        ids.append(httpx.get(f"{base}/v1/public/subjects/{person}").headers["x-request-id"])
    lines = [json.loads(line) for line in output if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "registry.access"]
    assert [line["request_id"] for line in access][-21:] == ids  # after the readiness polls
    assert {(line["route"], line["status"]) for line in access[:-1]} == {("/healthz", 200)}
    assert access[-1]["path"] == f"/v1/public/subjects/{person[:10]}********"
    assert (access[-1]["status"], access[-1]["level"], access[-1]["msg"]) == (404, "info", "request")
    assert lines[-1]["msg"].startswith("Finished server process")


def test_when_the_log_output_falls_behind_errors_and_slow_requests_are_still_written():
    output = io.StringIO()
    target = logging.StreamHandler(output)
    target.setFormatter(observe.JsonFormatter())
    handler = observe.OffPathHandler(target, capacity=0)  # always "full"
    logger = logging.getLogger("registry.test_observe")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        handler.start()
        for status, ms in ((200, 3.0), (503, 3.0), (200, 1500.0)):
            logger.info("request", extra={"fields": {"status": status, "duration_ms": ms}})
        logger.warning("the database is slow")
    finally:
        handler.stop()
        logger.removeHandler(handler)
        logger.propagate = True
    written = [json.loads(line) for line in output.getvalue().splitlines()]
    assert [(line.get("status"), line["msg"]) for line in written] == [
        (503, "request"),
        (200, "request"),
        (None, "the database is slow"),
    ]
    assert handler.dropped == 1


def test_access_entries_of_failed_and_slow_requests_are_kept_when_the_queue_is_full():
    output = io.StringIO()
    target = observe.BatchedStreamHandler(output)
    target.setFormatter(observe.JsonFormatter())
    handler = observe.OffPathHandler(target, capacity=0)
    handler.start()
    try:
        for status, seconds in ((200, 0.003), (502, 0.003), (200, 2.5)):
            handler.offer_access((1.5, "rid-000001", "GET", "/healthz", "/healthz", status, seconds, None))
    finally:
        handler.stop()
    written = [json.loads(line) for line in output.getvalue().splitlines()]
    assert [(line["status"], line["duration_ms"]) for line in written] == [(502, 3.0), (200, 2500.0)]
    assert written[0]["ts"] == "1970-01-01T00:00:01.500+00:00" and handler.dropped == 1


def _entry(number: int) -> observe.AccessEntry:
    return (1.5, f"rid-{number:06d}", "GET", "/healthz", "/healthz", 200, 0.001, "127.0.0.1")


def test_access_lines_reach_the_writing_thread_a_burst_at_a_time_and_none_is_lost():
    output = io.StringIO()
    target = observe.BatchedStreamHandler(output)
    target.setFormatter(observe.JsonFormatter())
    handler = observe.OffPathHandler(target)
    written: list[int] = []  # lines in each piece the thread wrote
    write = target.write_lines
    target.write_lines = lambda text: (written.append(text.count("\n")), write(text))[1]  # type: ignore[method-assign]

    async def serve(first: int, wait: float) -> None:
        for number in range(first, first + 50):
            handler.offer_access(_entry(number))
        await asyncio.sleep(wait)

    handler.start()
    try:
        asyncio.run(serve(0, observe.GATHER_SECONDS * 5))  # the burst handed over on its loop
        asyncio.run(serve(50, 0))  # this loop ends before the hand-over it planned
    finally:
        handler.stop()  # writes what is gathered too
    ids = [json.loads(line)["request_id"] for line in output.getvalue().splitlines()]
    assert ids == [f"rid-{number:06d}" for number in range(100)]
    assert written == [50, 50]  # two hand-overs for a hundred lines


def test_access_lines_gathered_after_a_loop_ended_are_written_without_waiting_for_stop():
    output = io.StringIO()
    target = observe.BatchedStreamHandler(output)
    target.setFormatter(observe.JsonFormatter())
    handler = observe.OffPathHandler(target)

    async def serve(first: int, wait: float) -> None:
        for number in range(first, first + 10):
            handler.offer_access(_entry(number))
        await asyncio.sleep(wait)

    handler.start()
    try:
        asyncio.run(serve(0, 0))  # ends before the hand-over it planned
        asyncio.run(serve(10, observe.GATHER_SECONDS * 5))  # a new loop (a restarted server's)
        deadline = time.monotonic() + 5
        while output.getvalue().count("\n") < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        written = output.getvalue().count("\n")
    finally:
        handler.stop()
    assert written == 20  # all of them while the handler still runs


def test_lines_logged_before_the_thread_starts_are_written_at_once():
    output = io.StringIO()
    target = logging.StreamHandler(output)
    target.setFormatter(observe.JsonFormatter())
    handler = observe.OffPathHandler(target)
    handler.handle(logging.makeLogRecord({"msg": "starting", "levelno": logging.INFO, "levelname": "INFO"}))
    assert json.loads(output.getvalue())["msg"] == "starting"


def test_metrics_count_each_request_once_by_route_status_and_latency(http):
    before = _metrics(http)
    for _ in range(3):
        assert http.get("/v1/domains").status_code == 200
    assert http.get("/v1/domains/no_such_domain").status_code == 404
    after = _metrics(http)
    assert _requests(after, "/v1/domains", "200") - _requests(before, "/v1/domains", "200") == 3
    assert _latency_count(after, "/v1/domains") - _latency_count(before, "/v1/domains") == 3
    one = "/v1/domains/{code}"
    assert _requests(after, one, "404") - _requests(before, one, "404") == 1
    buckets = [
        value
        for (name, labels), value in after.items()
        if name == "registry_request_seconds_bucket" and ("route", "/v1/domains") in labels
    ]
    assert max(buckets) == _latency_count(after, "/v1/domains")  # the +Inf bucket holds them all


def test_request_ids_are_unique_and_a_sane_caller_id_is_kept(http):
    ids = {http.get("/healthz").headers["x-request-id"] for _ in range(200)}
    assert len(ids) == 200
    assert http.get("/healthz", headers={"X-Request-ID": "abc123-XYZ.9"}).headers["x-request-id"] == (
        "abc123-XYZ.9"
    )
    replaced = http.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]
    assert replaced != "bad id!" and len(replaced) >= 8


def test_request_ids_differ_between_worker_processes():
    code = "from app.kit.observe import new_request_id; print(new_request_id())"
    spawned = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # a forked worker draws its own prefix
        os.write(writer, observe.new_request_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    forked = os.read(reader, 100).decode()
    os.close(reader)
    os.close(writer)
    mine = observe.new_request_id()
    assert len(spawned) == 2
    prefixes = {value.strip().rsplit("-", 1)[0] for value in (*spawned, forked, mine)}
    assert len(prefixes) == 4


def _table() -> RouteTable:
    (table,) = app.router.routes
    assert isinstance(table, RouteTable)
    return table


def test_the_route_table_passes_over_only_routers_that_cannot_match():
    # The table skips a router none of whose paths' literal starts begins the path: it must choose
    # what trying every route in order would (the first full match, else the first partial one).
    table = _table()
    paths = {"/", "/v1", "/v1/", "/nothing", "/v1/records/", "/v1/records", "/healthz/", "/docs-x"}
    for route in leaf_routes(app.router.routes):
        concrete = route.path.replace("{", "x").replace("}", "")
        paths |= {concrete, concrete + "/", concrete.rstrip("/"), concrete + "/more"}
    for path in sorted(paths):
        for method in ("GET", "POST", "DELETE"):
            scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
            tried = [(route, route.matches(dict(scope))[0]) for route in table.routes]
            full = [route for route, match in tried if match is Match.FULL]
            partial = [route for route, match in tried if match is Match.PARTIAL]
            match, child_scope = table.matches(dict(scope))
            if full:
                assert (match, child_scope[CHOSEN_ROUTE]) == (Match.FULL, full[0]), (path, method)
            elif partial:
                assert (match, child_scope[CHOSEN_ROUTE]) == (Match.PARTIAL, partial[0]), (path, method)
            else:
                assert match is Match.NONE, (path, method)


def test_the_last_router_s_routes_are_still_reached(http):
    assert http.get("/v1/public/ping").json() == {"status": "ok"}
    assert http.delete("/v1/domains").status_code == 405


def test_every_route_is_reached_by_its_own_path_through_the_router_that_holds_it():
    # The routers are ordered by how often they are asked (app.main); an order in which an earlier
    # router took another's path would silently change what answers. Each route's own path and
    # methods must be taken by the router that holds it.
    examples = {"uuid": "00000000-0000-4000-8000-000000000001", "int": "1", "float": "1.5"}

    def example(parameter: re.Match[str]) -> str:
        return examples.get(parameter.group(2) or "", "x1")

    table = _table()
    router_of = {id(route): routes for _, routes in table.branches for route in routes}
    checked = 0
    for route in leaf_routes(app.router.routes):
        concrete = re.sub(r"\{(\w+)(?::(\w+))?\}", example, route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            scope = {"type": "http", "path": concrete, "root_path": "", "method": method, "headers": []}
            match, child_scope = table.matches(dict(scope))
            assert match is Match.FULL, (route.path, method)
            assert route in router_of[id(child_scope[CHOSEN_ROUTE])], (route.path, method)
            checked += 1
    assert checked > 100


def test_an_unexpected_error_is_answered_as_every_error_is(monkeypatch):
    # API.md, Errors: every 5xx is {"error", "detail"}; and every answer carries the security and
    # cache headers, this one too (it is made outside the application's middleware).
    from fastapi.testclient import TestClient

    from app.main import app
    from app.public import router as public_router

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(public_router.search, "search", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/public/search", params={"q": "星辰"})
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error" and answer.json()["detail"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


def test_a_router_included_with_settings_of_its_own_is_refused_by_the_route_table():
    # The table serves an included router's routes as the router declared them: settings given at
    # inclusion (a prefix, dependencies, hidden from the schema...) would be silently lost.
    from fastapi import APIRouter, FastAPI

    from app.kit.routing import tabulate_routes

    router = APIRouter()

    @router.get("/x")
    async def x() -> dict[str, str]:
        return {}

    for settings in ({"prefix": "/v1"}, {"include_in_schema": False}, {"deprecated": True}):
        refusing = FastAPI()
        refusing.include_router(router, **settings)
        with pytest.raises(ValueError, match="as they are"):
            tabulate_routes(refusing)
    served = FastAPI()
    served.include_router(router)
    assert [route.path for route in tabulate_routes(served).routes][-1] == "/x"
