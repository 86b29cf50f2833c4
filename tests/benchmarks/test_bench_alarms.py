"""How long alarm scenarios take in real time (pytest-benchmark).

    pytest tests/benchmarks -p no:xdist --benchmark-only

Each benchmark runs a scenario on a ``Simulation`` built directly, under
``asyncio.Runner(loop_factory=DurableEventLoop)``, and checks its result;
nothing here asserts a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

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


class Scenario:
    """A simulation set up to the moment before the timed advance: the
    timed part is only the advance that runs the alarms, as the targets
    describe it (set-up is the same for every round and timed apart)."""

    def __init__(self, runner: asyncio.Runner, cls: type, arm: Callable[[Any], Any]) -> None:
        self.runner = runner
        self.simulation = Simulation()
        self.simulation.add_namespace("NS", cls)
        self.simulation.__enter__()
        self.clock = TimeControl(self.simulation)
        self.namespace = self.simulation.namespace("NS")
        self.stubs = runner.run(arm(self))

    def advance(self, seconds: float) -> None:
        try:
            self.runner.run(self.clock.advance(seconds))
        finally:
            self.simulation.cancel_pending()
            self.simulation.__exit__(None, None, None)


async def _arm_one(scenario: Scenario) -> list[Any]:
    stub = scenario.namespace.getByName("job")
    await stub.arm()
    return [stub]


async def _arm_many(scenario: Scenario) -> list[Any]:
    start = scenario.clock.now_ms
    stubs = [scenario.namespace.getByName(f"o{i}") for i in range(OBJECTS)]
    for i, stub in enumerate(stubs):
        await stub.arm(start + 1 + i * 6)
    return stubs


def test_retry_schedule_of_one_object(benchmark, runner):
    """One object's alarm fails every run: the first run and six retries
    (2 + 4 + ... + 64 = 126 virtual seconds), then it is dropped."""
    scenarios: list[Scenario] = []

    def setup() -> tuple[tuple[Scenario], dict[str, Any]]:
        scenarios.append(Scenario(runner, AlwaysFails, _arm_one))
        return (scenarios[-1],), {}

    benchmark.pedantic(lambda s: s.advance(1 + 126), setup=setup, rounds=20, iterations=1)

    for scenario in scenarios:
        history = scenario.clock.alarm_history(scenario.stubs[0])
        assert (len(history.runs), history.dropped) == (7, True)


def test_ten_thousand_alarms_in_one_advance(benchmark, runner):
    """``OBJECTS`` objects each set an alarm within one virtual minute; one
    advance fires them all."""
    scenarios: list[Scenario] = []

    def setup() -> tuple[tuple[Scenario], dict[str, Any]]:
        scenarios.append(Scenario(runner, Ticks, _arm_many))
        return (scenarios[-1],), {}

    benchmark.pedantic(lambda s: s.advance(60), setup=setup, rounds=3, iterations=1)

    for scenario in scenarios:
        fired = sum(len(scenario.clock.alarm_history(s).runs) for s in scenario.stubs)
        assert fired == OBJECTS
