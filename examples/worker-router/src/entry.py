"""A chat Worker: the entrypoint sends /rooms/<name>/... to the Room object
named <name>, which keeps that room's messages."""

from urllib.parse import urlparse

from workers import DurableObject, Response, WorkerEntrypoint


def route(url):
    """(room name, rest of the path) of /rooms/<name>/<rest>, or None."""
    parts = urlparse(url).path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "rooms" or not parts[1]:
        return None
    return parts[1], "/".join(parts[2:])


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        routed = route(request.url)
        if routed is None:
            return Response("expected /rooms/<name>/...", status=404)
        name, _ = routed
        return await self.env.ROOMS.getByName(name).fetch(request)


class Room(DurableObject):
    async def fetch(self, request):
        routed = route(request.url)
        rest = routed[1] if routed else ""
        if rest == "messages" and request.method == "POST":
            body = await request.json()
            return Response.json(await self.post(body["author"], body["text"]), status=201)
        if rest == "messages" and request.method == "GET":
            return Response.json({"room": self.ctx.id.name, "messages": await self.messages()})
        return Response(f"no route for {request.method} /{rest}", status=404)

    async def post(self, author, text):
        number = (await self.ctx.storage.get("count") or 0) + 1
        message = {"id": number, "author": author, "text": text}
        await self.ctx.storage.put({"count": number, f"message:{number:06d}": message})
        return message

    async def messages(self):
        stored = await self.ctx.storage.list(prefix="message:")
        return list(stored.values())
