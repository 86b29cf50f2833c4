"""An asyncio event loop that runs on the simulation's clock.

While a simulation with a fake clock is active, the loop's ``time()`` is the
clock's, and when every task is waiting for a later time the loop moves the
clock to the earliest timer instead of sleeping: ``await asyncio.sleep(3600)``
returns at once in real time while an hour passes in virtual time, and the
alarms due in between fire in order. When nothing at all can happen (no
timer, no I/O), the loop fails the wait instead of hanging.

Without an active fake clock it is a plain selector event loop. It plugs in
through public seams only: ``SelectorEventLoop(selector=...)`` and ``time()``.
"""

from __future__ import annotations

import asyncio
import functools
import selectors
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Final, TypeVar, TypeVarTuple, Unpack

from ._clock import Clock

if TYPE_CHECKING:
    from ._simulation import Simulation

__all__ = ["DeadlockError", "DurableEventLoop"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


REAL_IO_WAIT: Final = 0.25
"""Real seconds the fake clock gives open sockets to deliver before it jumps."""


class DeadlockError(RuntimeError):
    """The test waits for something that can never happen."""


def _active_fake_clock() -> Clock | None:
    simulation = _active_simulation()()
    if simulation is None or not simulation.clock.is_fake:
        return None
    return simulation.clock


@functools.cache
def _active_simulation() -> Callable[[], Simulation | None]:
    # Imported on first use (the simulation imports this module), and kept:
    # the loop asks on every time() and select(), thousands of times a second.
    from ._simulation import active_simulation

    return active_simulation


class _VirtualTimeSelector(selectors.BaseSelector):
    """A selector that, under a fake clock, moves the clock instead of
    blocking while only timers are pending.

    Work running in an executor thread (``asyncio.to_thread``,
    ``run_in_executor``, DNS lookups) is not idle: while ``busy()`` says some
    is in flight, the selector waits for it in real time and the clock stays.
    """

    def __init__(self, busy: Callable[[], bool]) -> None:
        self._inner = selectors.DefaultSelector()
        self._busy = busy

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        clock = _active_fake_clock()
        if clock is None or timeout == 0:
            return self._inner.select(timeout)
        ready = self._inner.select(0)
        if ready:
            return ready
        if self._busy():
            return self._inner.select(clock.idle_timeout)
        if len(self._inner.get_map()) > 1:
            # Sockets besides the loop's own wake-up pipe: real I/O may be on
            # its way (a server on 127.0.0.1), so give it some real time
            # before the clock jumps to the next timer.
            ready = self._inner.select(
                clock.idle_timeout if timeout is None else min(timeout, REAL_IO_WAIT)
            )
            if ready:
                return ready
        if timeout is None:
            ready = self._inner.select(clock.idle_timeout)
            if not ready:
                raise DeadlockError(
                    "pytest-durable: the test is waiting for something that can never happen: "
                    "no timer or alarm is pending under the fake clock and no I/O arrived in "
                    f"{clock.idle_timeout:g} s of real time (durable_idle_timeout)"
                    + _what_went_wrong()
                )
            return ready
        clock.advance_seconds(timeout)
        return []


def _what_went_wrong() -> str:
    """What the simulation recorded that may explain a wait that never ends
    (a WebSocket handler that raised before it sent a reply, say)."""
    simulation = _active_simulation()()
    lines = simulation.leftovers() if simulation is not None else []
    return "".join(f"\n- {line}" for line in lines)


class DurableEventLoop(asyncio.SelectorEventLoop):
    """The event loop pytest-durable runs tests on."""

    def __init__(self) -> None:
        self._in_executor = 0
        super().__init__(selector=_VirtualTimeSelector(lambda: self._in_executor > 0))
        # A timer is due when its time is within the clock's resolution; the
        # fake clock's float arithmetic needs a microsecond of it, not the
        # monotonic clock's nanosecond, or a jump could stop just short of a
        # timer and the loop would spin.
        resolution: float = getattr(self, "_clock_resolution", 1e-9)
        self._clock_resolution = max(resolution, 1e-6)

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[Unpack[_Ts]], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        future = super().run_in_executor(executor, func, *args)
        self._in_executor += 1
        future.add_done_callback(self._executor_done)
        return future

    def _executor_done(self, future: asyncio.Future[Any]) -> None:
        self._in_executor -= 1

    def time(self) -> float:
        clock = _active_fake_clock()
        if clock is None:
            return time.monotonic()
        return clock.elapsed_seconds()


def loop_time_of(ms: float) -> float:
    """The running loop's time for the epoch time ``ms``."""
    loop = asyncio.get_running_loop()
    clock = _active_fake_clock()
    if clock is not None and isinstance(loop, DurableEventLoop):
        return (ms - clock.origin_ms) / 1000
    simulation = _active_simulation()()
    # The simulation's clock, never time.time(): freezegun may be holding that.
    now_ms = simulation.clock.precise_ms() if simulation is not None else time.time() * 1000
    return loop.time() + (ms - now_ms) / 1000
