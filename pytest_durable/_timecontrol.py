"""``TimeControl``: what a test uses to move a simulation's fake clock.

Moving the clock runs everything that falls due on the way, in time order,
across all objects: alarms (and their retries) and the event loop's own
timers (``asyncio.sleep`` in Durable Object code or in the test).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from typing import TYPE_CHECKING, Any, Final

from ._alarms import AlarmHistory
from ._loop import DurableEventLoop

if TYPE_CHECKING:
    from ._simulation import Simulation

__all__ = ["TimeControl"]

MAX_ALARM_RUNS: Final = 10_000
"""``run_until_idle`` gives up after this many alarm runs (an alarm that sets
itself again forever would otherwise never let it return)."""
_SETTLE_TURNS: Final = 100


class TimeControl:
    """The ``durable_clock`` fixture."""

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self._clock = simulation.clock
        self._alarms = simulation.alarms

    @property
    def mode(self) -> str:
        return self._clock.mode

    @property
    def now_ms(self) -> int:
        """The current time in ms since the epoch (what ``Date.now()`` returns)."""
        return int(self._clock.now_ms())

    @property
    def now(self) -> _dt.datetime:
        """The current time as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self._clock.precise_ms() / 1000, tz=_dt.UTC)

    async def advance(self, seconds: float | _dt.timedelta) -> None:
        """Move the clock forward by ``seconds``, running what falls due."""
        given = seconds
        if isinstance(seconds, _dt.timedelta):
            seconds = seconds.total_seconds()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"advance() takes seconds or a timedelta, not {given!r}")
        if seconds < 0:
            raise ValueError(
                f"advance({given!r}): the clock cannot go backwards; give a duration >= 0"
            )
        self._require_fake("advance")
        await asyncio.sleep(seconds)
        await self._settle()

    async def move_to(self, when: _dt.datetime | float) -> None:
        """Move the clock forward to ``when`` (a datetime, naive meaning
        UTC, or ms since the epoch); never backwards."""
        if isinstance(when, _dt.datetime):
            aware = when if when.tzinfo is not None else when.replace(tzinfo=_dt.UTC)
            target_ms = aware.timestamp() * 1000
        elif isinstance(when, (int, float)) and not isinstance(when, bool):
            target_ms = float(when)
        else:
            raise TypeError(f"move_to() takes a datetime or ms since the epoch, not {when!r}")
        self._require_fake("move_to")
        now = self._clock.precise_ms()
        if target_ms < now:
            raise ValueError(
                f"move_to({when!r}): the clock cannot go backwards; it reads {self.now.isoformat()}"
            )
        await self.advance((target_ms - now) / 1000)

    async def run_next_alarm(self) -> int | None:
        """Move to the next due alarm and run it to its end; returns the time
        it ran at, or None when no alarm is pending.

        A handler that awaits a timer is waited for (the clock moves on as
        far as it waits); an alarm set while its object's handler runs is
        queued behind that run, so when only such alarms are left, the
        running handlers are let finish first."""
        self._require_fake("run_next_alarm")
        await self._settle()
        while True:
            due = self._alarms.next_due()
            if due is not None:
                break
            running = self._alarms.running_tasks()
            if not running:
                return None
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        ran_at = max(due, self._clock.precise_ms())
        await self.advance(max(0.0, (due - self._clock.precise_ms()) / 1000))
        running = self._alarms.running_tasks()
        if running:
            await asyncio.wait(running)
        return int(ran_at)

    async def run_until_idle(self) -> int:
        """Run alarms until none is pending; returns how many runs it took."""
        self._require_fake("run_until_idle")
        before = self._alarms.total_runs()
        while await self.run_next_alarm() is not None:
            # A run can start another right after it ends (an alarm set for
            # "now" in the handler), so count the runs the histories recorded.
            if self._alarms.total_runs() - before >= MAX_ALARM_RUNS:
                raise RuntimeError(
                    f"run_until_idle() stopped after {MAX_ALARM_RUNS} alarm runs: an alarm "
                    "keeps setting itself again; use advance() to run a bounded time instead"
                )
        return self._alarms.total_runs() - before

    def alarm_history(self, stub: Any) -> AlarmHistory:
        """The alarm runs of the object ``stub`` reaches."""
        return self._alarms.history(self._simulation.host_of(stub))

    def _require_fake(self, what: str) -> None:
        if not self._clock.is_fake:
            raise RuntimeError(
                f"durable_clock.{what}() needs the fake clock; this test runs on the real "
                "clock (--durable-clock=real)"
            )
        if not isinstance(asyncio.get_running_loop(), DurableEventLoop):
            raise RuntimeError(
                f"durable_clock.{what}() needs pytest-durable's event loop: run the test with "
                "pytest-asyncio (the plugin provides the loop), or outside pytest use "
                "asyncio.Runner(loop_factory=pytest_durable.DurableEventLoop)"
            )

    async def _settle(self) -> None:
        """Let alarm handlers started at this instant finish what they can
        without the clock moving."""
        for _ in range(_SETTLE_TURNS):
            if not self._alarms.running_tasks():
                return
            await asyncio.sleep(0)
