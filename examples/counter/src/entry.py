from workers import DurableObject, Response, WorkerEntrypoint


class Counter(DurableObject):
    """Counts requests per name; the count survives in storage."""

    async def fetch(self, request):
        path = request.url.split("/", 3)[-1]
        if path == "increment":
            return Response(str(await self.increment()))
        if path == "reset":
            await self.ctx.storage.delete("count")
            return Response("0")
        return Response(str(await self.get_count()))

    async def increment(self, by=1):
        count = (await self.ctx.storage.get("count")) or 0
        count += by
        await self.ctx.storage.put("count", count)
        return count

    async def get_count(self):
        return (await self.ctx.storage.get("count")) or 0


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        name = request.url.rsplit("?name=", 1)[-1] if "?name=" in request.url else "default"
        stub = self.env.COUNTER.getByName(name)
        return await stub.fetch(request.url)
