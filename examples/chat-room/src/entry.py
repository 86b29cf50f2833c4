import json

from js import Object, WebSocketPair, WebSocketRequestResponsePair
from pyodide.ffi import to_js
from workers import DurableObject, Response


class ChatRoom(DurableObject):
    """A chat room. Each member's socket is hibernatable, tagged with the
    member's name, and carries the name as its attachment."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.constructed = True  # in memory only: gone after hibernation
        # Clients keep the connection alive with "ping"; the runtime answers
        # without waking the object.
        ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair.new("ping", "pong"))

    async def fetch(self, request):
        if request.headers.get("Upgrade") != "websocket":
            return Response("expected a WebSocket upgrade", status=426)
        name = request.url.rsplit("name=", 1)[-1]
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server, to_js([name, "members"]))
        server.serializeAttachment(to_js({"name": name}, dict_converter=Object.fromEntries))
        self.broadcast({"joined": name})
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        name = ws.deserializeAttachment().to_py()["name"]
        if isinstance(message, str) and message.startswith("/whisper "):
            _, to, text = message.split(" ", 2)
            for peer in self.ctx.getWebSockets(to):
                peer.send(json.dumps({"from": name, "whisper": text}))
            return
        if not isinstance(message, str):
            message = bytes(message.to_py()).decode()
        self.broadcast({"from": name, "text": message})

    async def webSocketClose(self, ws, code, reason, was_clean):
        name = ws.deserializeAttachment().to_py()["name"]
        self.broadcast({"left": name, "code": code}, skip=ws)

    def broadcast(self, event, skip=None):
        text = json.dumps(event)
        for peer in self.ctx.getWebSockets("members"):
            if peer != skip and peer.readyState == 1:
                peer.send(text)

    async def members(self):
        return sorted(
            peer.deserializeAttachment().to_py()["name"] for peer in self.ctx.getWebSockets()
        )
