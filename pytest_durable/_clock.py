"""The one clock of a simulation.

Everything that reads time in the simulator (``js.Date.now()``, alarm times,
the event loop of a test, and under the fake clock ``time.time()`` and
``datetime.now()`` through freezegun) asks the ``Clock`` of its simulation.
A fake clock moves only when told to, or when everything is waiting for a
later time, and never backwards; a real clock follows the wall clock.
"""

from __future__ import annotations

import datetime as _dt
import os
import random
import time
from typing import Any, Final, Literal

__all__ = ["CLOCK_MODES", "DEFAULT_START", "Clock", "ClockMode"]

ClockMode = Literal["fake", "real"]
CLOCK_MODES: Final = ("fake", "real")

DEFAULT_START: Final = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
"""Where a fake clock starts unless told otherwise: the same instant every
run, so that tests are reproducible."""

RETRY_JITTER_FACTOR: Final = 0.25
"""Production adds up to this fraction of each alarm retry delay at random."""


class Clock:
    """Milliseconds since the epoch, fake or real.

    ``jitter`` switches on production-like random extra on alarm retry
    delays (up to 25 %), reproducible from ``seed``; by default it is off
    and retry schedules are exact.
    """

    def __init__(
        self,
        mode: ClockMode = "fake",
        start: _dt.datetime | float | None = None,
        *,
        jitter: bool = False,
        seed: int | str | None = None,
        idle_timeout: float = 10.0,
    ) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(
                f"unknown clock mode {mode!r}: expected one of {', '.join(map(repr, CLOCK_MODES))}"
            )
        self.mode: ClockMode = mode
        self.origin_ms = float(_start_ms(start))
        # Time is kept as an offset from the origin: a small float, so that
        # adding a timer's delay lands on the timer (an epoch in ms is too big
        # a float for sub-microsecond steps).
        self._elapsed_ms = 0.0
        """Where the event loop's time counts from under this clock: loop
        times stay small, so float rounding never hides a due timer."""
        self.jitter = jitter
        if idle_timeout <= 0:
            raise ValueError(
                f"idle_timeout must be a positive number of seconds, not {idle_timeout!r}"
            )
        self.idle_timeout = idle_timeout
        """Real seconds the loop waits for I/O, when no timer is pending under
        the fake clock, before it declares the test stuck."""
        self._random = random.Random(seed)
        self._freezer: Any = None
        self._frozen: Any = None
        self._saved_tz: str | None = None

    @property
    def is_fake(self) -> bool:
        return self.mode == "fake"

    def now_ms(self) -> float:
        """The current time, in whole milliseconds, as ``Date.now()`` gives it."""
        return float(int(self.precise_ms()))

    def precise_ms(self) -> float:
        if self.mode == "real":
            return time.time() * 1000
        return self.origin_ms + self._elapsed_ms

    def elapsed_seconds(self) -> float:
        """Seconds since the fake clock's origin (the event loop's time)."""
        return self._elapsed_ms / 1000

    def advance_seconds(self, seconds: float) -> None:
        """Move a fake clock forward by ``seconds`` (the event loop's steps)."""
        self._move(self._elapsed_ms + seconds * 1000)

    def set_ms(self, ms: float) -> None:
        """Move a fake clock forward to ``ms``."""
        if self.mode != "fake":
            raise RuntimeError("the real clock cannot be moved; use --durable-clock=fake")
        if ms < self.precise_ms():
            raise ValueError(
                f"the clock cannot go backwards: it reads {_iso(self.precise_ms())} and was "
                f"asked to move to {_iso(ms)}"
            )
        self._move(ms - self.origin_ms)

    def _move(self, elapsed_ms: float) -> None:
        self._elapsed_ms = max(self._elapsed_ms, float(elapsed_ms))
        if self._frozen is not None:
            moment = self.precise_ms() / 1000
            self._frozen.move_to(_dt.datetime.fromtimestamp(moment, tz=_dt.UTC))

    def retry_extra(self, delay_ms: float) -> float:
        """The random extra on one alarm retry delay (0 unless jitter is on)."""
        if not self.jitter:
            return 0.0
        return delay_ms * RETRY_JITTER_FACTOR * self._random.random()

    # -- freezegun: time.time() and datetime.now() follow a fake clock

    def freeze(self) -> None:
        if self.mode != "fake" or self._freezer is not None:
            return
        from freezegun import freeze_time

        moment = _dt.datetime.fromtimestamp(self.precise_ms() / 1000, tz=_dt.UTC)
        # pytest's own timing (--durations, the run's duration) stays real.
        self._freezer = freeze_time(moment, real_asyncio=True, ignore=["_pytest.timing"])
        self._frozen = self._freezer.start()
        self._saved_tz = _use_utc()

    def unfreeze(self) -> None:
        if self._freezer is not None:
            self._freezer.stop()
            self._freezer = self._frozen = None
            _restore_tz(self._saved_tz)

    def __repr__(self) -> str:
        return f"Clock({self.mode!r}, now={_iso(self.precise_ms())})"


def _use_utc() -> str | None:
    """Workers run in UTC: so does local time (``time.localtime()``) while a
    fake clock runs. Returns the TZ setting to restore."""
    saved = os.environ.get("TZ")
    if hasattr(time, "tzset"):
        os.environ["TZ"] = "UTC"
        time.tzset()
    return saved


def _restore_tz(saved: str | None) -> None:
    if not hasattr(time, "tzset"):
        return
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def _start_ms(start: _dt.datetime | float | None) -> float:
    if start is None:
        return DEFAULT_START.timestamp() * 1000
    if isinstance(start, _dt.datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=_dt.UTC)
        return start.timestamp() * 1000
    if isinstance(start, (int, float)) and not isinstance(start, bool):
        return float(start)
    raise TypeError(
        f"clock start {start!r} is not a time: give a datetime or milliseconds since the epoch"
    )


def _iso(ms: float) -> str:
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
