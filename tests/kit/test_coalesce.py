"""Callers that arrive while a run is in flight go together in the next run; each gets its own result."""

import asyncio
import threading

import pytest

from app.kit.coalesce import Coalescer, SingleFlight


class Recorder:
    """A run that doubles its items, remembering each group, and can be held in flight."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def run(self, items: list[int]) -> list[int]:
        self.groups.append(items)
        await self.release.wait()
        return [item * 2 for item in items]


async def _started(coalescer: Coalescer[int, int], item: int) -> "asyncio.Task[int]":
    task = asyncio.create_task(coalescer.submit(item))
    await asyncio.sleep(0)  # let it queue up (and the drain start)
    return task


def test_a_lone_caller_runs_alone():
    recorder = Recorder()

    async def scenario() -> int:
        return await Coalescer(recorder.run).submit(21)

    assert asyncio.run(scenario()) == 42
    assert recorder.groups == [[21]]


def test_callers_arriving_during_a_run_go_together_in_the_next():
    recorder = Recorder()
    coalescer = Coalescer(recorder.run)

    async def scenario() -> list[int]:
        recorder.release.clear()
        first = await _started(coalescer, 1)
        later = [await _started(coalescer, n) for n in (2, 3, 4)]
        assert recorder.groups == [[1]]  # the first run is still in flight
        recorder.release.set()
        return [await task for task in (first, *later)]

    assert asyncio.run(scenario()) == [2, 4, 6, 8]
    assert recorder.groups == [[1], [2, 3, 4]]


def test_a_run_takes_at_most_max_items():
    recorder = Recorder()
    coalescer = Coalescer(recorder.run, max_items=2)

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(coalescer.submit(n) for n in range(5))))

    assert asyncio.run(scenario()) == [0, 2, 4, 6, 8]
    assert recorder.groups == [[0, 1], [2, 3], [4]]


def test_a_failed_run_fails_each_of_its_callers_and_the_next_run_goes_on():
    calls: list[list[str]] = []

    async def run(items: list[str]) -> list[str]:
        calls.append(items)
        await asyncio.sleep(0.01)
        if "bad" in items:
            raise ValueError("the database said no")
        return [item.upper() for item in items]

    coalescer = Coalescer(run)

    async def scenario() -> list[object]:
        first = asyncio.create_task(coalescer.submit("ok"))
        await asyncio.sleep(0)
        group = [asyncio.create_task(coalescer.submit(item)) for item in ("bad", "fine")]
        await asyncio.sleep(0.02)  # the group's run has failed by now
        after = asyncio.create_task(coalescer.submit("after"))
        return list(await asyncio.gather(first, *group, after, return_exceptions=True))

    first, bad, fine, after = asyncio.run(scenario())
    assert first == "OK" and after == "AFTER"
    assert isinstance(bad, ValueError) and isinstance(fine, ValueError)
    assert str(fine) == "the database said no"
    assert calls == [["ok"], ["bad", "fine"], ["after"]]


def test_a_run_that_answers_for_fewer_items_fails_its_callers():
    async def run(items: list[int]) -> list[int]:
        return items[:1]

    async def scenario() -> list[object]:
        coalescer = Coalescer(run)
        return list(await asyncio.gather(coalescer.submit(1), coalescer.submit(2), return_exceptions=True))

    results = asyncio.run(scenario())
    assert all(isinstance(result, RuntimeError) for result in results), results


def test_a_caller_that_goes_away_leaves_the_others_their_results():
    recorder = Recorder()
    coalescer = Coalescer(recorder.run)

    async def scenario() -> tuple[int, bool]:
        recorder.release.clear()
        blocker = await _started(coalescer, 0)
        leaving = await _started(coalescer, 1)
        staying = await _started(coalescer, 2)
        leaving.cancel()
        recorder.release.set()
        await blocker
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying, leaving.cancelled()

    assert asyncio.run(scenario()) == (4, True)
    assert recorder.groups == [[0], [1, 2]]  # the item was run all the same: the caller left late


def test_each_event_loop_has_its_own_queue():
    """A run in flight on one loop (a thread of its own) does not take in another loop's callers:
    those run on their own loop, and answer while the first is still held."""
    held, release = threading.Event(), threading.Event()
    groups: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        groups.append(items)
        if items == [1]:
            held.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait)
        return [item * 2 for item in items]

    coalescer = Coalescer(run)
    first: list[int] = []
    other_loop = threading.Thread(target=lambda: first.append(asyncio.run(coalescer.submit(1))))
    other_loop.start()
    try:
        assert held.wait(5)
        assert asyncio.run(asyncio.wait_for(coalescer.submit(2), 5)) == 4
    finally:
        release.set()
        other_loop.join(5)
    assert first == [2]
    assert groups == [[1], [2]]


def test_single_flight_shares_one_load_among_concurrent_callers_of_a_key():
    loads: list[str] = []

    async def load(key: str) -> str:
        loads.append(key)
        await asyncio.sleep(0.01)
        return key.upper()

    async def main() -> None:
        flight = SingleFlight(load)
        answers = await asyncio.gather(*(flight.get("a") for _ in range(16)), flight.get("b"))
        assert answers == ["A"] * 16 + ["B"]
        assert sorted(loads) == ["a", "b"]
        # Once a load is over, the next caller loads again (the cache above decides freshness).
        assert await flight.get("a") == "A"
        assert loads.count("a") == 2

    asyncio.run(main())


def test_single_flight_survives_a_cancelled_caller_and_passes_errors_to_all():
    async def main() -> None:
        gate = asyncio.Event()
        calls = 0

        async def load(key: int) -> int:
            nonlocal calls
            calls += 1
            await gate.wait()
            if key < 0:
                raise ValueError("no such day")
            return key * 2

        flight = SingleFlight(load)
        leaving = asyncio.ensure_future(flight.get(1))
        staying = asyncio.ensure_future(flight.get(1))
        await asyncio.sleep(0)
        leaving.cancel()
        await asyncio.sleep(0)
        gate.set()
        assert await staying == 2
        assert calls == 1
        failing = [asyncio.ensure_future(flight.get(-1)) for _ in range(3)]
        for future in failing:
            with pytest.raises(ValueError, match="no such day"):
                await future
        assert calls == 2

    asyncio.run(main())
