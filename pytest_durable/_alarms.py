"""Alarms: one per object, delivered at least once, retried with backoff.

The scheduler keeps, per object, the alarm time ``getAlarm()`` reports and
the time it will actually run (the same, except while a retry is pending),
and runs the handler as an event of the object when the clock reaches it.
A handler that fails is retried 2, 4, 8, 16, 32 and 64 s after the failed
run (plus the clock's jitter, zero by default), then the alarm is dropped.
Every run is recorded in the object's ``AlarmHistory``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from ._clock import _iso
from ._errors import METHOD_DOES_NOT_EXIST, JsException, type_error
from ._handlers import relaxed_call
from ._js import NULL, HostObject
from ._loop import loop_time_of
from ._pyodide import JsProxy

if TYPE_CHECKING:
    from ._objects import Instance, ObjectHost
    from ._simulation import Simulation

__all__ = ["AlarmHistory", "AlarmInvocationInfo", "AlarmRun", "AlarmScheduler"]

RETRY_START_SECONDS: Final = 2
MAX_RETRIES: Final = 6
"""Counted retries; the handler runs at most ``MAX_RETRIES + 1`` times."""


class AlarmInvocationInfo(HostObject):
    """``alarmInfo``: a raw JavaScript object in Python (attribute access)."""

    js_class = "AlarmInvocationInfo"
    js_members = frozenset({"retryCount", "isRetry", "scheduledTime"})

    def __init__(self, scheduled_ms: float, retry_count: int) -> None:
        self.scheduledTime = float(scheduled_ms)
        self.retryCount = float(retry_count)
        self.isRetry = retry_count > 0


@dataclass(frozen=True)
class AlarmRun:
    """One run of an alarm handler."""

    scheduled_time: int
    """The alarm's time (``alarmInfo.scheduledTime``), ms since the epoch."""
    run_time: int
    """When this run started, ms since the epoch."""
    retry_count: int
    outcome: Literal["success", "exception"]
    exception: BaseException | None = None


@dataclass
class AlarmHistory:
    """What happened to one object's alarm, for assertions."""

    runs: list[AlarmRun] = field(default_factory=list)
    dropped: bool = False
    """True when a run failed after the last retry and the alarm was dropped."""

    @property
    def run_times(self) -> list[int]:
        return [run.run_time for run in self.runs]

    @property
    def retry_delays(self) -> list[float]:
        """Seconds between each run and the next."""
        return [(b - a) / 1000 for a, b in itertools.pairwise(self.run_times)]

    @property
    def outcomes(self) -> list[str]:
        return [run.outcome for run in self.runs]


_SavedAlarm = tuple[float | None, float | None, int, bool, bool]


class _AlarmState:
    __slots__ = (
        "deleted_in_run",
        "due_ms",
        "history",
        "retry_count",
        "running",
        "set_in_run",
        "task",
        "time_ms",
        "timer",
    )

    def __init__(self) -> None:
        self.time_ms: float | None = None
        self.due_ms: float | None = None
        self.retry_count = 0
        self.running = False
        self.set_in_run = False
        self.deleted_in_run = False
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.history = AlarmHistory()


class AlarmScheduler:
    """The alarms of one simulation, on its clock."""

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self._total_runs = 0
        self._states: dict[int, tuple[ObjectHost, _AlarmState]] = {}
        # Armed due times, earliest first; an entry whose state has moved on
        # since is dropped when it reaches the top. Both keep run_until_idle()
        # from scanning every object on every step.
        self._due: list[tuple[float, int, _AlarmState]] = []
        self._arms = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()

    def _state(self, host: ObjectHost) -> _AlarmState:
        entry = self._states.get(id(host))
        if entry is None:
            entry = self._states[id(host)] = (host, _AlarmState())
        return entry[1]

    # -- the storage API

    def get_alarm(self, host: ObjectHost) -> Any:
        state = self._state(host)
        if state.running and not state.set_in_run:
            return NULL
        return NULL if state.time_ms is None else float(int(state.time_ms))

    def set_alarm(self, host: ObjectHost, ms: float) -> None:
        state = self._state(host)
        now = self._simulation.clock.precise_ms()
        ms = max(float(int(ms)), now)
        if state.running:
            state.set_in_run = True
            state.deleted_in_run = False
        elif state.time_ms == ms and state.retry_count == 0:
            return
        state.time_ms = state.due_ms = ms
        state.retry_count = 0
        if not state.running:
            self._arm(host, state)

    def delete_alarm(self, host: ObjectHost) -> None:
        state = self._state(host)
        state.time_ms = state.due_ms = None
        state.retry_count = 0
        if state.running:
            state.set_in_run = False
            state.deleted_in_run = True
        self._disarm(state)

    def snapshot(self, host: ObjectHost) -> _SavedAlarm:
        """The alarm as stored, for a transaction to restore on rollback."""
        state = self._state(host)
        return (
            state.time_ms, state.due_ms, state.retry_count, state.set_in_run, state.deleted_in_run
        )

    def restore(self, host: ObjectHost, saved: _SavedAlarm) -> None:
        state = self._state(host)
        (
            state.time_ms, state.due_ms, state.retry_count, state.set_in_run, state.deleted_in_run
        ) = saved
        # While the handler runs, what it wrote decides the alarm when it ends.
        if not state.running:
            self._arm(host, state)

    # -- what tests read

    def history(self, host: ObjectHost) -> AlarmHistory:
        return self._state(host).history

    def total_runs(self) -> int:
        """Alarm runs recorded so far, across all objects."""
        return self._total_runs

    def next_due(self) -> float | None:
        """The earliest due time among objects whose handler is not running."""
        heap = self._due
        queued = []  # set during a run: due once that run ends
        found = None
        while heap:
            due, _, state = heap[0]
            if state.due_ms != due:
                heapq.heappop(heap)
            elif state.running:
                queued.append(heapq.heappop(heap))
            else:
                found = due
                break
        for entry in queued:
            heapq.heappush(heap, entry)
        return found

    def running_tasks(self) -> list[asyncio.Task[None]]:
        return [task for task in self._tasks if not task.done()]

    def leftovers(self) -> list[str]:
        """One line per alarm still pending or dropped after failing."""
        lines = []
        for host, state in self._states.values():
            where = f"{host.namespace.binding} {describe_object(host)}"
            if state.due_ms is not None:
                retry = f" (retry {state.retry_count})" if state.retry_count else ""
                lines.append(f"{where}: alarm still pending at {_iso(state.due_ms)}{retry}")
            if state.history.dropped:
                lines.append(
                    f"{where}: alarm dropped after {MAX_RETRIES + 1} failed runs; "
                    f"last error: {_last_line(state.history.runs[-1].exception)}"
                )
        return lines

    def cancel_all(self) -> None:
        for _, state in self._states.values():
            self._disarm(state)
            if state.task is not None and not state.task.done():
                state.task.cancel()

    # -- running

    def _arm(self, host: ObjectHost, state: _AlarmState) -> None:
        self._disarm(state)
        if state.due_ms is None:
            return
        heapq.heappush(self._due, (state.due_ms, next(self._arms), state))
        loop = asyncio.get_running_loop()
        state.timer = loop.call_at(loop_time_of(state.due_ms), self._fire, host, state)

    def _disarm(self, state: _AlarmState) -> None:
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None

    def _fire(self, host: ObjectHost, state: _AlarmState) -> None:
        state.timer = None
        if state.due_ms is None or state.running:
            return
        state.task = asyncio.ensure_future(self._run(host, state))
        self._tasks.add(state.task)
        state.task.add_done_callback(self._tasks.discard)

    async def _run(self, host: ObjectHost, state: _AlarmState) -> None:
        clock = self._simulation.clock
        scheduled = state.time_ms if state.time_ms is not None else state.due_ms
        assert scheduled is not None
        retry_count = state.retry_count
        state.running = True
        state.set_in_run = state.deleted_in_run = False
        state.due_ms = None
        run_ms = clock.now_ms()
        info = AlarmInvocationInfo(float(int(scheduled)), retry_count)
        name = host.namespace.handler_name("alarm")
        error: BaseException | None = None
        bound: list[Instance | None] = [None]
        try:
            await host.deliver(bound, lambda obj: _call_alarm(obj, name, info))
        except (JsException, Exception) as exc:
            error = exc
        finally:
            state.running = False
        if error is None and bound[0] is not None and bound[0].broken is not None:
            # The object was reset while the handler ran and the handler still
            # returned (the JavaScript ctx.abort() does not raise): the run failed.
            error = bound[0].broken
        self._total_runs += 1
        state.history.runs.append(
            AlarmRun(int(scheduled), int(run_ms), retry_count,
                     "success" if error is None else "exception", error)
        )
        set_in_run, deleted_in_run = state.set_in_run, state.deleted_in_run
        state.set_in_run = state.deleted_in_run = False
        if set_in_run:
            state.retry_count = 0
        elif error is None or deleted_in_run or not _retries(error):
            # Success, a deleteAlarm() in the run, or abort(..., {retryAlarm: false}).
            state.time_ms = state.due_ms = None
            state.retry_count = 0
        elif retry_count >= MAX_RETRIES:
            state.time_ms = state.due_ms = None
            state.retry_count = 0
            state.history.dropped = True
        else:
            delay_ms = (RETRY_START_SECONDS << retry_count) * 1000
            state.retry_count = retry_count + 1
            state.time_ms = scheduled
            state.due_ms = clock.precise_ms() + delay_ms + clock.retry_extra(delay_ms)
        self._arm(host, state)


def _call_alarm(obj: Any, name: str, info: AlarmInvocationInfo) -> Any:
    method = getattr(obj, name, None)
    if not callable(method):
        raise type_error(METHOD_DOES_NOT_EXIST.format(name=name))
    return relaxed_call(method, JsProxy(info))


def _retries(error: BaseException) -> bool:
    return not (isinstance(error, JsException) and not error.retry_alarm)


def _last_line(error: BaseException | None) -> str:
    """The gist of a run's error: a Python error crosses as a ``PythonError``
    whose message is the whole traceback, and its last line names the error."""
    lines = str(error).strip().splitlines()
    return lines[-1] if lines else repr(error)


def describe_object(host: ObjectHost) -> str:
    name = host.id.name_or_none
    return f"object {name!r}" if name is not None else f"object {host.id.hex[:12]}…"
