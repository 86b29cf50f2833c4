"""The simulation clock and the ``durable_clock`` fixture: moving virtual time,
what reads it, the event loop that follows it, and the pytest options that
choose it (reference section 8.4; docs/clock.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import textwrap
import time

import js
import pytest
from js import Date
from pytester_helpers import literally, run
from workers import DurableObject

from pytest_durable import DurableEventLoop, Simulation, TimeControl

START_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z, where the fake clock starts unless told otherwise."""
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Timed(DurableObject):
    """Arms its alarm on request and records when the alarm ran."""

    async def arm(self, at_ms):
        await self.ctx.storage.setAlarm(at_ms)

    async def rearm_each_run(self, step_ms, runs):
        await self.ctx.storage.put("left", runs)
        await self.ctx.storage.setAlarm(Date.now() + step_ms)
        await self.ctx.storage.put("step", step_ms)

    async def alarm(self):
        fired = await self.ctx.storage.get("fired") or []
        await self.ctx.storage.put("fired", [*fired, Date.now()])
        left = await self.ctx.storage.get("left") or 0
        if left > 1:
            await self.ctx.storage.put("left", left - 1)
            await self.ctx.storage.setAlarm(Date.now() + await self.ctx.storage.get("step"))

    async def disarm(self):
        await self.ctx.storage.deleteAlarm()

    async def fired(self):
        return await self.ctx.storage.get("fired") or []

    async def clocks(self):
        return {
            "Date.now": Date.now(),
            "time.time": time.time(),
            "datetime.now": dt.datetime.now(),
            "datetime.now(UTC)": dt.datetime.now(dt.UTC),
        }

    async def sleep(self, seconds):
        before = Date.now()
        await asyncio.sleep(seconds)
        return [before, Date.now()]


@pytest.fixture
def timed(durable_simulation: Simulation):
    durable_simulation.add_namespace("TIMED", Timed)
    return durable_simulation.namespace("TIMED")


# -- reading the clock -------------------------------------------------------------------------


async def test_the_fake_clock_starts_at_2026_01_01_utc(durable_clock):
    assert durable_clock.mode == "fake"
    assert durable_clock.now == START
    assert durable_clock.now_ms == START_MS
    assert type(durable_clock.now_ms) is int


async def test_date_now_time_and_datetime_read_virtual_time_in_the_test(durable_clock):
    await durable_clock.advance(90.5)

    assert js.Date.now() == START_MS + 90_500
    assert time.time() == START_MS / 1000 + 90.5
    assert dt.datetime.now() == dt.datetime(2026, 1, 1, 0, 1, 30, 500_000)  # Workers run in UTC
    assert dt.datetime.now(dt.UTC) == dt.datetime(2026, 1, 1, 0, 1, 30, 500_000, tzinfo=dt.UTC)


async def test_date_now_time_and_datetime_read_virtual_time_in_a_durable_object(
    timed, durable_clock
):
    stub = timed.getByName("a")
    await durable_clock.advance(90.5)

    assert await stub.clocks() == {
        "Date.now": START_MS + 90_500,
        "time.time": START_MS / 1000 + 90.5,
        # Over RPC a datetime arrives naive, in UTC (reference §1.3).
        "datetime.now": dt.datetime(2026, 1, 1, 0, 1, 30, 500_000),
        "datetime.now(UTC)": dt.datetime(2026, 1, 1, 0, 1, 30, 500_000),
    }


# -- advance -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "ms"),
    [
        (60, 60_000),
        (0.001, 1),
        (1.5, 1_500),
        (dt.timedelta(hours=1, milliseconds=5), 3_600_005),
        (0, 0),
    ],
)
async def test_advance_moves_the_clock_by_exactly_the_step(durable_clock, step, ms):
    await durable_clock.advance(step)

    assert durable_clock.now_ms == START_MS + ms
    assert js.Date.now() == START_MS + ms


async def test_many_small_advances_add_up_exactly(durable_clock):
    for _ in range(1_000):
        await durable_clock.advance(0.001)

    assert durable_clock.now_ms == START_MS + 1_000


async def test_advance_runs_alarms_due_on_the_way_each_at_its_time(timed, durable_clock):
    for name, seconds in [("c", 30), ("a", 10), ("b", 20), ("later", 61)]:
        await timed.getByName(name).arm(START_MS + seconds * 1_000)

    await durable_clock.advance(60)

    assert [await timed.getByName(n).fired() for n in "abc"] == [
        [START_MS + 10_000],
        [START_MS + 20_000],
        [START_MS + 30_000],
    ]
    assert await timed.getByName("later").fired() == []
    assert durable_clock.now_ms == START_MS + 60_000
    await durable_clock.advance(1)
    assert await timed.getByName("later").fired() == [START_MS + 61_000]


async def test_advance_by_a_negative_duration_is_a_value_error(durable_clock):
    with pytest.raises(ValueError) as caught:
        await durable_clock.advance(-1)

    assert str(caught.value) == "advance(-1): the clock cannot go backwards; give a duration >= 0"
    assert durable_clock.now_ms == START_MS


async def test_advance_by_a_negative_timedelta_names_the_timedelta(durable_clock):
    with pytest.raises(ValueError) as caught:
        await durable_clock.advance(dt.timedelta(seconds=-1))

    assert str(caught.value) == (
        "advance(datetime.timedelta(days=-1, seconds=86399)): the clock cannot go backwards; "
        "give a duration >= 0"
    )


@pytest.mark.parametrize("step", ["60", None, True, [1]])
async def test_advance_by_a_non_number_is_a_type_error(durable_clock, step):
    with pytest.raises(TypeError) as caught:
        await durable_clock.advance(step)

    assert str(caught.value) == f"advance() takes seconds or a timedelta, not {step!r}"


# -- move_to -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(dt.datetime(2026, 1, 1, 12, 30), id="naive-is-utc"),
        pytest.param(dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.UTC), id="utc"),
        pytest.param(
            dt.datetime(2026, 1, 1, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            id="minus-five-hours",
        ),
        pytest.param(START_MS + 45_000_000, id="ms"),
        pytest.param(START_MS + 45_000_000.0, id="float-ms"),
    ],
)
async def test_move_to_an_instant(durable_clock, when):
    await durable_clock.move_to(when)

    assert durable_clock.now == dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.UTC)
    assert durable_clock.now_ms == START_MS + 45_000_000


async def test_move_to_now_does_not_move(durable_clock):
    await durable_clock.move_to(START)

    assert durable_clock.now_ms == START_MS


async def test_move_to_runs_alarms_due_on_the_way(timed, durable_clock):
    await timed.getByName("a").arm(START_MS + 5_000)

    await durable_clock.move_to(START_MS + 5_000)

    assert await timed.getByName("a").fired() == [START_MS + 5_000]


async def test_move_to_the_past_is_a_value_error_that_names_both_times(durable_clock):
    await durable_clock.advance(60)

    earlier = dt.datetime(2026, 1, 1, 0, 0, 30)
    with pytest.raises(ValueError) as caught:
        await durable_clock.move_to(earlier)

    # The datetime as given, naive (under the fake clock its class is freezegun's).
    assert str(caught.value) == (
        f"move_to({earlier!r}): the clock cannot go backwards; it reads 2026-01-01T00:01:00+00:00"
    )
    assert repr(earlier).endswith("(2026, 1, 1, 0, 0, 30)")
    assert durable_clock.now_ms == START_MS + 60_000


async def test_move_to_the_past_in_ms_is_a_value_error(durable_clock):
    with pytest.raises(ValueError) as caught:
        await durable_clock.move_to(START_MS - 1)

    assert str(caught.value) == (
        "move_to(1767225599999): the clock cannot go backwards; it reads 2026-01-01T00:00:00+00:00"
    )


@pytest.mark.parametrize("when", ["2026-01-02", None, dt.date(2026, 1, 2)])
async def test_move_to_a_non_time_is_a_type_error(durable_clock, when):
    with pytest.raises(TypeError) as caught:
        await durable_clock.move_to(when)

    assert str(caught.value) == f"move_to() takes a datetime or ms since the epoch, not {when!r}"


# -- run_next_alarm and run_until_idle --------------------------------------------------------


async def test_run_next_alarm_runs_the_earliest_and_returns_its_time(timed, durable_clock):
    await timed.getByName("late").arm(START_MS + 90_000)
    await timed.getByName("early").arm(START_MS + 30_000)

    assert await durable_clock.run_next_alarm() == START_MS + 30_000
    assert durable_clock.now_ms == START_MS + 30_000
    assert await timed.getByName("early").fired() == [START_MS + 30_000]
    assert await timed.getByName("late").fired() == []

    assert await durable_clock.run_next_alarm() == START_MS + 90_000
    assert durable_clock.now_ms == START_MS + 90_000
    assert await durable_clock.run_next_alarm() is None
    assert durable_clock.now_ms == START_MS + 90_000


async def test_run_next_alarm_skips_alarms_replaced_or_deleted(timed, durable_clock):
    for name, seconds in [("a", 10), ("b", 20), ("c", 30)]:
        await timed.getByName(name).arm(START_MS + seconds * 1_000)
    await timed.getByName("a").arm(START_MS + 40_000)
    await timed.getByName("b").disarm()

    assert await durable_clock.run_next_alarm() == START_MS + 30_000
    assert await durable_clock.run_next_alarm() == START_MS + 40_000
    assert await durable_clock.run_next_alarm() is None
    assert [await timed.getByName(n).fired() for n in "abc"] == [
        [START_MS + 40_000],
        [],
        [START_MS + 30_000],
    ]


async def test_run_next_alarm_without_alarms_returns_none_and_keeps_the_time(durable_clock):
    assert await durable_clock.run_next_alarm() is None
    assert durable_clock.now_ms == START_MS


async def test_run_until_idle_follows_alarms_that_set_new_ones(timed, durable_clock):
    stub = timed.getByName("a")
    await stub.rearm_each_run(60_000, 5)

    assert await durable_clock.run_until_idle() == 5

    assert await stub.fired() == [START_MS + n * 60_000 for n in range(1, 6)]
    assert durable_clock.now_ms == START_MS + 300_000
    assert await durable_clock.run_until_idle() == 0


class Flaky(DurableObject):
    async def arm(self):
        await self.ctx.storage.setAlarm(Date.now() + 1_000)

    async def alarm(self, alarm_info):
        if alarm_info.retryCount < 2:
            raise RuntimeError("not yet")


@pytest.mark.durable_object(cls=Flaky)
async def test_run_until_idle_counts_retries(durable_ns, durable_clock):
    stub = durable_ns.getByName("a")
    await stub.arm()

    assert await durable_clock.run_until_idle() == 3
    assert durable_clock.now_ms == START_MS + 1_000 + 2_000 + 4_000


# -- asyncio.sleep on virtual time ------------------------------------------------------------


async def test_asyncio_sleep_in_the_test_moves_virtual_time_by_exactly_that(durable_clock):
    await asyncio.sleep(3600)

    assert durable_clock.now_ms == START_MS + 3_600_000
    assert js.Date.now() == START_MS + 3_600_000
    assert time.time() == START_MS / 1000 + 3600
    assert asyncio.get_running_loop().time() == 3600.0


async def test_asyncio_sleep_in_a_durable_object_moves_virtual_time_by_exactly_that(
    timed, durable_clock
):
    assert await timed.getByName("a").sleep(3600) == [START_MS, START_MS + 3_600_000]
    assert durable_clock.now_ms == START_MS + 3_600_000


async def test_a_sleep_wakes_up_after_alarms_due_before_it(timed, durable_clock):
    await timed.getByName("a").arm(START_MS + 1_800_000)

    await asyncio.sleep(3600)

    assert await timed.getByName("a").fired() == [START_MS + 1_800_000]


async def test_concurrent_sleeps_wake_in_time_order(durable_clock):
    woke: list[tuple[str, int]] = []

    async def nap(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        woke.append((name, durable_clock.now_ms - START_MS))

    await asyncio.gather(nap("long", 30), nap("short", 10), nap("middle", 20))

    assert woke == [("short", 10_000), ("middle", 20_000), ("long", 30_000)]


async def test_wait_for_times_out_on_virtual_time(durable_clock):
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(never, timeout=300)

    assert durable_clock.now_ms == START_MS + 300_000


async def test_work_in_a_thread_is_not_idle_time(timed, durable_clock):
    # A pending alarm an hour away must not fire while a thread is working.
    await timed.getByName("a").arm(START_MS + 3_600_000)

    assert await asyncio.to_thread(lambda: "done in a thread") == "done in a thread"

    assert durable_clock.now_ms == START_MS
    assert await timed.getByName("a").fired() == []
    await durable_clock.run_until_idle()


# -- outside pytest --------------------------------------------------------------------------


def test_a_simulation_runs_on_virtual_time_under_asyncio_runner():
    async def scenario() -> list[int]:
        simulation = Simulation()
        simulation.add_namespace("TIMED", Timed)
        async with simulation:
            clock = TimeControl(simulation)
            stub = simulation.namespace("TIMED").getByName("a")
            await stub.arm(START_MS + 86_400_000)
            await clock.advance(dt.timedelta(days=1))
            return [clock.now_ms, *await stub.fired()]

    with asyncio.Runner(loop_factory=DurableEventLoop) as runner:
        assert runner.run(scenario()) == [START_MS + 86_400_000, START_MS + 86_400_000]


def test_the_loop_is_a_plain_loop_without_an_active_simulation():
    async def scenario() -> float:
        await asyncio.sleep(0)
        return asyncio.get_running_loop().time()

    with asyncio.Runner(loop_factory=DurableEventLoop) as runner:
        loop_time = runner.run(scenario())

    assert abs(loop_time - time.monotonic()) < 60


# -- pytest options, markers and leftovers, through pytester ---------------------------------

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
{extra}
"""

MODE_TEST = """
import pytest

{marks}
async def test_mode(durable_clock):
    assert durable_clock.mode == {expected!r}
"""


def make_project(pytester: pytest.Pytester, ini: str = "", **files: str) -> None:
    pytester.makeini(INI.format(extra=ini))
    pytester.makepyfile(**{name: textwrap.dedent(text) for name, text in files.items()})


@pytest.mark.parametrize(
    ("ini", "args", "marks", "expected"),
    [
        pytest.param("", [], "", "fake", id="default"),
        pytest.param("durable_clock = real", [], "", "real", id="ini"),
        pytest.param("", ["--durable-clock=real"], "", "real", id="command-line"),
        pytest.param(
            "durable_clock = real", ["--durable-clock=fake"], "", "fake",
            id="command-line-over-ini",
        ),
        pytest.param(
            "durable_clock = fake", ["--durable-clock=fake"],
            '@pytest.mark.durable_clock("real")', "real", id="marker-over-both",
        ),
        pytest.param(
            "", ["--durable-clock=real"], '@pytest.mark.durable_clock(mode="fake")', "fake",
            id="marker-keyword-over-command-line",
        ),
        pytest.param(
            "", ["--durable-clock=real"], "pytestmark = pytest.mark.durable_clock('fake')",
            "fake", id="module-marker",
        ),
        pytest.param(
            "", ["--durable-clock=real"], "@pytest.mark.durable_clock(jitter=True)", "real",
            id="marker-without-mode",
        ),
    ],
)
def test_clock_mode_precedence(pytester, ini, args, marks, expected):
    make_project(pytester, ini, test_mode=MODE_TEST.format(marks=marks, expected=expected))

    run(pytester, *args).assert_outcomes(passed=1)


def test_unknown_mode_on_the_command_line(pytester):
    make_project(pytester, test_mode=MODE_TEST.format(marks="", expected="fake"))

    result = run(pytester, "--durable-clock=slow")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --durable-clock: invalid choice: 'slow' (choose from 'fake', 'real')"]
    )


def test_unknown_mode_in_the_ini_file(pytester):
    make_project(
        pytester, "durable_clock = slow", test_mode=MODE_TEST.format(marks="", expected="")
    )

    result = run(pytester)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [literally("ERROR: durable_clock = 'slow' is not a clock mode: use one of fake, real")]
    )


def test_unknown_mode_in_the_marker(pytester):
    make_project(
        pytester,
        test_mode=MODE_TEST.format(marks='@pytest.mark.durable_clock("slow")', expected=""),
    )

    result = run(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [literally("pytest-durable: @pytest.mark.durable_clock('slow'): use one of fake, real")]
    )


def test_unknown_marker_keyword(pytester):
    make_project(
        pytester,
        test_mode=MODE_TEST.format(marks="@pytest.mark.durable_clock(speed=2)", expected=""),
    )

    result = run(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            literally(
                "pytest-durable: @pytest.mark.durable_clock takes mode and the keywords start, "
                "jitter, seed, leftovers; got speed"
            )
        ]
    )


START_TEST = """
from datetime import datetime, timezone

import pytest
from js import Date


@pytest.mark.durable_clock(start=datetime(2030, 5, 1, 12, 0))
async def test_naive_start_is_utc(durable_clock):
    assert durable_clock.now == datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert Date.now() == 1_903_867_200_000


@pytest.mark.durable_clock(start=1_903_867_200_000)
async def test_start_in_ms(durable_clock):
    assert durable_clock.now == datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
    await durable_clock.advance(1)
    assert durable_clock.now_ms == 1_903_867_201_000


@pytest.mark.durable_clock(start="tomorrow")
async def test_start_not_a_time(durable_clock):
    pass
"""


def test_the_marker_chooses_where_the_clock_starts(pytester):
    make_project(pytester, test_start=START_TEST)

    result = run(pytester)

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            literally(
                "pytest-durable: @pytest.mark.durable_clock: clock start 'tomorrow' is not a "
                "time: give a datetime or milliseconds since the epoch"
            )
        ]
    )


REAL_TEST = """
import asyncio

import pytest
from js import Date
from workers import DurableObject


class Pinger(DurableObject):
    fired = None

    async def arm(self):
        await self.ctx.storage.setAlarm(Date.now() + 50)

    async def alarm(self):
        Pinger.fired.set()


@pytest.mark.durable_object(cls=Pinger)
async def test_alarm_on_wall_clock_time(durable_ns, durable_clock):
    assert durable_clock.mode == "real"
    Pinger.fired = asyncio.Event()
    await durable_ns.getByName("a").arm()
    await asyncio.wait_for(Pinger.fired.wait(), timeout=10)
    assert durable_clock.alarm_history(durable_ns.getByName("a")).outcomes == ["success"]


@pytest.mark.parametrize(
    ("name", "args"),
    [("advance", (1,)), ("move_to", (1_900_000_000_000,)), ("run_next_alarm", ()),
     ("run_until_idle", ())],
)
async def test_the_real_clock_cannot_be_moved(durable_clock, name, args):
    with pytest.raises(RuntimeError) as caught:
        await getattr(durable_clock, name)(*args)
    assert str(caught.value) == (
        f"durable_clock.{name}() needs the fake clock; this test runs on the real clock "
        "(--durable-clock=real)"
    )
"""


def test_the_real_clock(pytester):
    make_project(pytester, "filterwarnings = error", test_real=REAL_TEST)

    run(pytester, "--durable-clock=real").assert_outcomes(passed=5)


DEADLOCK_TEST = """
import asyncio

import pytest
from workers import DurableObject


class Waits(DurableObject):
    async def wait_forever(self):
        await asyncio.Event().wait()


async def test_waits_on_a_future_nothing_resolves(durable_clock):
    await asyncio.get_running_loop().create_future()


@pytest.mark.durable_object(cls=Waits)
async def test_a_durable_object_waits_forever(durable_ns):
    await durable_ns.getByName("a").wait_forever()
"""

DEADLOCK_ERROR = (
    "pytest_durable._loop.DeadlockError: pytest-durable: the test is waiting for something "
    "that can never happen: no timer or alarm is pending under the fake clock and no I/O "
    "arrived in 0.2 s of real time (durable_idle_timeout)"
)


SLOW_THREAD_TEST = """
import asyncio
import time


async def test_a_thread_slower_than_the_idle_timeout(durable_clock):
    await asyncio.to_thread(time.sleep, 0.5)
    assert durable_clock.now_ms == 1767225600000
"""


def test_a_thread_slower_than_the_idle_timeout_is_not_a_deadlock(pytester):
    make_project(pytester, "filterwarnings = error", test_slow_thread=SLOW_THREAD_TEST)

    run(pytester, "-o", "durable_idle_timeout=0.2").assert_outcomes(passed=1)


def test_a_test_that_waits_forever_fails_with_deadlock_error(pytester):
    make_project(pytester, "filterwarnings = error", test_deadlock=DEADLOCK_TEST)

    result = run(pytester, "-o", "durable_idle_timeout=0.2")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["E *" + literally(DEADLOCK_ERROR)] * 2)


LEFTOVER_TEST = """
import pytest
from js import Date
from workers import DurableObject


class Leftover(DurableObject):
    async def arm(self, fail):
        await self.ctx.storage.put("fail", fail)
        await self.ctx.storage.setAlarm(Date.now() + 60_000)

    async def alarm(self):
        if await self.ctx.storage.get("fail"):
            raise RuntimeError("upstream down")


@pytest.mark.durable_object(cls=Leftover)
async def test_leaves_alarms(durable_ns, durable_clock):
    await durable_ns.getByName("dropped").arm(True)
    await durable_clock.run_until_idle()
    await durable_ns.getByName("pending").arm(False)
"""

LEFTOVER_LINES = [
    "pytest-durable: left at the end of the test:",
    "- Leftover object 'dropped': alarm dropped after 7 failed runs; last error: "
    "RuntimeError: upstream down",
    "- Leftover object 'pending': alarm still pending at 2026-01-01T00:04:06.000Z",
    "(run alarms with durable_clock.run_until_idle() or delete them with deleteAlarm(); "
    "clear handler_calls(stub).errors once checked; or allow leftovers with "
    "durable_leftovers = ignore, or @pytest.mark.durable_clock(leftovers=...) for one test)",
]


def test_leftovers_warn_by_default(pytester):
    make_project(pytester, test_leftovers=LEFTOVER_TEST)

    result = run(pytester)

    result.assert_outcomes(passed=1, warnings=1)
    # In the warnings summary, indented by two spaces.
    result.stdout.fnmatch_lines(
        [
            "*DurableLeftoverWarning: " + literally(LEFTOVER_LINES[0]),
            *("  " + literally(line) for line in LEFTOVER_LINES[1:]),
        ]
    )


def test_leftover_warnings_fail_the_test_under_filterwarnings_error(pytester):
    make_project(pytester, "filterwarnings = error", test_leftovers=LEFTOVER_TEST)

    result = run(pytester)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E *pytest_durable.plugin.DurableLeftoverWarning: " + literally(LEFTOVER_LINES[0]),
            *("E *" + literally(line) for line in LEFTOVER_LINES[1:]),
        ]
    )


def test_leftovers_fail(pytester):
    make_project(pytester, "durable_leftovers = fail", test_leftovers=LEFTOVER_TEST)

    result = run(pytester)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([literally(line) for line in LEFTOVER_LINES])
    assert "Traceback" not in result.stdout.str()


def test_leftovers_ignore(pytester):
    make_project(
        pytester,
        "durable_leftovers = ignore\nfilterwarnings = error",
        test_leftovers=LEFTOVER_TEST,
    )

    result = run(pytester)

    result.assert_outcomes(passed=1)
    assert "left at the end of the test" not in result.stdout.str()


@pytest.mark.parametrize(
    ("ini", "marker", "outcome"),
    [
        ("durable_leftovers = fail", "ignore", {"passed": 1}),
        ("durable_leftovers = ignore", "fail", {"passed": 1, "errors": 1}),
    ],
)
def test_the_marker_chooses_the_leftovers_policy_over_the_ini_file(
    pytester, ini, marker, outcome
):
    module = LEFTOVER_TEST.replace(
        "@pytest.mark.durable_object(cls=Leftover)",
        f"@pytest.mark.durable_object(cls=Leftover)\n@pytest.mark.durable_clock(leftovers={marker!r})",
    )
    make_project(pytester, ini + "\nfilterwarnings = error", test_leftovers=module)

    run(pytester).assert_outcomes(**outcome)


def test_unknown_leftovers_policy_in_the_ini_file(pytester):
    make_project(pytester, "durable_leftovers = loud", test_mode=MODE_TEST.format(
        marks="", expected="fake"))

    result = run(pytester)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [literally("ERROR: durable_leftovers = 'loud': use one of warn, fail, ignore")]
    )


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_idle_timeout_stops_the_run_at_once(pytester, value):
    test_mode = MODE_TEST.format(marks="", expected="")
    make_project(pytester, f"durable_idle_timeout = {value}", test_mode=test_mode)

    result = run(pytester)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [literally(f"ERROR: durable_idle_timeout = '{value}': give a positive number of seconds")]
    )
