"""The one clock of a simulation.

Everything that reads time in the simulator (``js.Date.now()``, alarm times,
auto-response timestamps) asks the ``Clock`` of its simulation, never
``time.time()`` directly. A fake clock moves only when told to and never
backwards; a real clock follows the wall clock.
"""

from __future__ import annotations

import time
from typing import Final, Literal

__all__ = ["Clock", "ClockMode", "CLOCK_MODES"]

ClockMode = Literal["fake", "real"]
CLOCK_MODES: Final = ("fake", "real")


class Clock:
    """Milliseconds since the epoch, fake or real."""

    def __init__(self, mode: ClockMode = "fake", start_ms: float | None = None) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(
                f"unknown clock mode {mode!r}: expected one of {', '.join(map(repr, CLOCK_MODES))}"
            )
        self.mode: ClockMode = mode
        self._fake_ms = float(start_ms if start_ms is not None else _wall_ms())

    def now_ms(self) -> float:
        """The current time, in whole milliseconds, as ``Date.now()`` gives it."""
        if self.mode == "real":
            return float(int(_wall_ms()))
        return float(int(self._fake_ms))

    def set_ms(self, ms: float) -> None:
        """Move a fake clock forward to ``ms``."""
        if self.mode != "fake":
            raise RuntimeError("only a fake clock can be moved; this clock is real")
        if ms < self._fake_ms:
            raise ValueError(
                f"the clock cannot go backwards: it reads {self._fake_ms!r} ms and was "
                f"asked to move to {ms!r} ms"
            )
        self._fake_ms = float(ms)


def _wall_ms() -> float:
    return time.time() * 1000
