from datetime import datetime, timedelta

from js import Date
from workers import DurableObject, Response


class RetryingJob(DurableObject):
    """A job that runs on an alarm and is retried by the runtime when it fails.

    The job "calls an upstream" that fails the first `failures` times it is
    tried; each attempt is logged in storage.
    """

    async def schedule(self, delay_ms, failures=0):
        await self.ctx.storage.put("failures", failures)
        await self.ctx.storage.put("attempts", [])
        await self.ctx.storage.setAlarm(Date.now() + delay_ms)
        return await self.ctx.storage.getAlarm()

    async def schedule_at(self, when):
        await self.ctx.storage.put("failures", 0)
        await self.ctx.storage.put("attempts", [])
        self.ctx.storage.setAlarm(when)

    async def alarm(self, alarm_info):
        attempts = await self.ctx.storage.get("attempts")
        attempts.append({"at": Date.now(), "retry": alarm_info.retryCount})
        await self.ctx.storage.put("attempts", attempts)
        failures = await self.ctx.storage.get("failures")
        if alarm_info.retryCount < failures:
            raise RuntimeError(f"upstream unavailable (attempt {alarm_info.retryCount + 1})")
        await self.ctx.storage.put("done_at", Date.now())

    async def status(self):
        return {
            "attempts": await self.ctx.storage.get("attempts"),
            "done_at": await self.ctx.storage.get("done_at"),
            "alarm": await self.ctx.storage.getAlarm(),
        }

    async def fetch(self, request):
        return Response.json(await self.status())


class Reminder(DurableObject):
    """Sets a reminder for one hour from now, by datetime."""

    async def remind_in_an_hour(self):
        self.ctx.storage.setAlarm(datetime.now() + timedelta(hours=1))

    async def alarm(self):
        await self.ctx.storage.put("reminded", True)
