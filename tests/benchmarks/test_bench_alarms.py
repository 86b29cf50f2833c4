"""How long alarm scenarios take in real time (pytest-benchmark).

    pytest tests/benchmarks -p no:xdist --benchmark-only

Each benchmark runs a scenario on a ``Simulation`` built directly, under
``asyncio.Runner(loop_factory=DurableEventLoop)``, and checks its result;
nothing here asserts a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from js import Date
from workers import DurableObject

from pytest_durable import DurableEventLoop, Simulation, TimeControl

OBJECTS = 10_000


class AlwaysFails(DurableObject):
    async def arm(self):
        await self.ctx.storage.setAlarm(Date.now() + 1_000)

    async def alarm(self, alarm_info):
        raise RuntimeError(f"run {alarm_info.retryCount + 1} fails")


class Ticks(DurableObject):
    async def arm(self, at_ms):
        await self.ctx.storage.setAlarm(at_ms)

    async def alarm(self):
        await self.ctx.storage.put("fired_at", Date.now())


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner(loop_factory=DurableEventLoop) as runner:
        yield runner


async def seven_runs() -> tuple[int, bool]:
    """One object's alarm fails every run: the first run and six retries
    (2 + 4 + ... + 64 = 126 virtual seconds), then it is dropped."""
    simulation = Simulation()
    simulation.add_namespace("FAILS", AlwaysFails)
    async with simulation:
        clock = TimeControl(simulation)
        stub = simulation.namespace("FAILS").getByName("job")
        await stub.arm()
        await clock.advance(1 + 126)
        history = clock.alarm_history(stub)
        return len(history.runs), history.dropped


async def many_objects() -> int:
    """``OBJECTS`` objects each set an alarm within one virtual minute; one
    advance fires them all."""
    simulation = Simulation()
    simulation.add_namespace("TICKS", Ticks)
    async with simulation:
        clock = TimeControl(simulation)
        namespace = simulation.namespace("TICKS")
        start = clock.now_ms
        for i in range(OBJECTS):
            await namespace.getByName(f"o{i}").arm(start + 1 + i * 6)
        await clock.advance(60)
        return sum(len(clock.alarm_history(s).runs) for s in _stubs(namespace))


def _stubs(namespace):
    return (namespace.getByName(f"o{i}") for i in range(OBJECTS))


def test_retry_schedule_of_one_object(benchmark, runner):
    result = benchmark(lambda: runner.run(seven_runs()))

    assert result == (7, True)


def test_ten_thousand_alarms_in_one_advance(benchmark, runner):
    result = benchmark.pedantic(lambda: runner.run(many_objects()), rounds=3, iterations=1)

    assert result == OBJECTS
