from js import Date
from workers import DurableObject, Response, WorkerEntrypoint, fetch


class ForecastCache(DurableObject):
    """Caches one city's forecast from the upstream API."""

    async def forecast(self, city):
        cached = self.ctx.storage.kv.get("forecast")
        max_age = int(self.env.CACHE_SECONDS) * 1000
        if cached is not None and Date.now() - cached["at"] < max_age:
            return {"city": city, "forecast": cached["forecast"], "cached": True}
        upstream = await fetch(
            f"{self.env.UPSTREAM}/v1/forecast?city={city}",
            headers={"Authorization": f"Bearer {self.env.API_KEY}"},
        )
        if not upstream.ok:
            return {"city": city, "error": upstream.status}
        forecast = (await upstream.json())["forecast"]
        self.ctx.storage.kv.put("forecast", {"at": Date.now(), "forecast": forecast})
        return {"city": city, "forecast": forecast, "cached": False}


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        city = request.url.rsplit("/", 1)[-1]
        result = await self.env.CACHE.getByName(city).forecast(city)
        status = 502 if "error" in result else 200
        return Response.json(result, status=status)

    async def cities_cached(self, cities):
        """An RPC method other Workers call through a service binding."""
        return [c for c in cities if (await self.env.CACHE.getByName(c).forecast(c))["cached"]]
