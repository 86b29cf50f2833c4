from js import Date
from workers import DurableObject, Response


class StorageTools:
    """RPC methods shared by both objects; a mixin, not an object itself."""

    async def dump(self):
        return dict(await self.ctx.storage.list())

    async def forget(self, keys):
        return await self.ctx.storage.delete(keys)


class Visits(StorageTools, DurableObject):
    """Counts visits; the count is loaded once, before any request runs."""

    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env
        self.count = 0

        async def initialize():
            self.count = await ctx.storage.get("count") or 0

        ctx.blockConcurrencyWhile(initialize)

    async def on_fetch(self, request):
        self.count += 1
        self.ctx.storage.put("count", self.count)
        self.ctx.storage.put("last_visit", Date.now())
        return Response(f"visit {self.count}")


class Settings(StorageTools, DurableObject):
    """Settings kept in memory and written through to storage."""

    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env
        self.values = {}
        ctx.blockConcurrencyWhile(self.load)

    async def load(self):
        stored = await self.ctx.storage.list({"prefix": "setting:"})
        self.values = {key.removeprefix("setting:"): value for key, value in stored.items()}

    async def save(self, changes):
        for key, value in changes.items():
            self.ctx.storage.put(f"setting:{key}", value)
            self.values[key] = value
        return self.values

    async def on_fetch(self, request):
        return Response.json(self.values)


async def on_fetch(request, env):
    path = request.url.split("/", 3)[3]
    if path.startswith("settings"):
        stub = env.SETTINGS.get(env.SETTINGS.idFromName("global"))
    else:
        stub = env.VISITS.get(env.VISITS.idFromName(path or "home"))
    return await stub.fetch(request)
