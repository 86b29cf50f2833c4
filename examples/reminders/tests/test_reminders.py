from datetime import UTC, datetime, timedelta

import pytest
from entry import Reminder

START_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)


async def test_alarm_fires_on_time(durable_ns, durable_clock):
    stub = durable_ns.getByName("job-1")
    assert await stub.schedule(60_000) == START_MS + 60_000
    await durable_clock.advance(59.999)
    assert (await stub.status())["attempts"] == []
    await durable_clock.advance(0.001)
    status = await stub.status()
    assert status["attempts"] == [{"at": START_MS + 60_000, "retry": 0}]
    assert status["done_at"] == START_MS + 60_000
    assert status["alarm"] is None


async def test_retry_schedule_is_2s_doubling(durable_ns, durable_clock):
    # Reference §5.3: retries after 2, 4, 8, 16, 32 and 64 s, counted from each
    # failed run; 7 runs at most. Jitter is off by default, so times are exact.
    stub = durable_ns.getByName("job-7")
    # Positional: keyword arguments would arrive as one trailing dict, as in production.
    await stub.schedule(60_000, 3)
    await durable_clock.run_until_idle()
    history = durable_clock.alarm_history(stub)
    assert history.outcomes == ["exception", "exception", "exception", "success"]
    assert history.retry_delays == [2.0, 4.0, 8.0]
    assert [run.retry_count for run in history.runs] == [0, 1, 2, 3]
    assert {run.scheduled_time for run in history.runs} == {START_MS + 60_000}


@pytest.mark.durable_clock(leftovers="ignore")  # the dropped alarm is the point of this test
async def test_seven_runs_then_dropped(durable_ns, durable_clock):
    stub = durable_ns.getByName("doomed")
    await stub.schedule(1_000, 100)
    await durable_clock.advance(1)
    # Between a failure and its retry getAlarm() still reports the original time.
    assert (await stub.status())["alarm"] == START_MS + 1_000
    await durable_clock.run_until_idle()
    history = durable_clock.alarm_history(stub)
    assert history.retry_delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    assert len(history.runs) == 7
    assert history.dropped
    assert (await stub.status())["alarm"] is None


@pytest.mark.durable_object(cls=Reminder)
async def test_an_hour_passes_in_no_time(durable_ns, durable_clock):
    stub = durable_ns.getByName("me")
    await stub.remind_in_an_hour()
    await durable_clock.advance(timedelta(hours=1))
    assert durable_clock.now == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert durable_clock.alarm_history(stub).outcomes == ["success"]
