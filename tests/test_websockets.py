"""WebSockets in a Durable Object: pairs, the hibernation API, the standard
API, the test's client end, and hibernation (reference sections 2.4-2.7, 6
and 8.1).

Expected error texts are the runtime's own, as the reference quotes them in
the sections named in each part's heading. Where a value was read from the
workerd source itself (snapshot 6552d999), a comment names the file; the
auto-response values come from the oracle's ``kv_ws``/``sql_ws`` probe
(``oracle/results/probe.json``).
"""

from __future__ import annotations

import asyncio
import json
from unittest.mock import ANY, call
from urllib.parse import parse_qs, urlsplit

import pytest
from js import Object, WebSocketPair, WebSocketRequestResponsePair
from pyodide.ffi import create_proxy, jsnull, to_js
from workers import DurableObject, Response

from pytest_durable import Compat, JsException, Simulation
from pytest_durable._websocket import ConnectionClosed

OPEN, CLOSING, CLOSED = 1, 2, 3
DISCONNECTED = "WebSocket disconnected without sending Close frame."
UPGRADE = {"Upgrade": "websocket"}


class Room(DurableObject):
    """One socket per request. ``?tags=a,b`` tags it, ``?name=n`` attaches
    ``{"name": n}``; ``?api=standard`` accepts it the standard way instead,
    and ``?api=later`` leaves that to a later ``accept_waiting()`` call."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.heard = []  # in memory only: gone when the object hibernates
        self.listened = []
        self.waiting = None

    async def fetch(self, request):
        query = parse_qs(urlsplit(request.url).query)
        client, server = WebSocketPair.new()
        if query.get("api") == ["standard"]:
            self.listen(server)
        elif query.get("api") == ["later"]:
            self.waiting = server
        else:
            tags = query["tags"][0].split(",") if "tags" in query else []
            self.ctx.acceptWebSocket(server, to_js(tags))
            if "name" in query:
                attachment = {"name": query["name"][0]}
                server.serializeAttachment(to_js(attachment, dict_converter=Object.fromEntries))
        return Response(None, status=101, web_socket=client)

    def listen(self, server):
        def on_message(event):
            self.listened.append(event.data)
            server.send(f"standard:{event.data}")

        def on_close(event):
            self.listened.append([event.code, event.reason, event.wasClean, server.readyState])

        server.accept()
        server.addEventListener("message", create_proxy(on_message))
        server.addEventListener("close", create_proxy(on_close))

    async def webSocketMessage(self, ws, message):
        if message == "raise":
            raise ValueError("the handler failed")
        if message == "heard":
            ws.send(json.dumps(self.heard))
        elif isinstance(message, str):
            self.heard.append(message)
            ws.send(f"echo:{message}")
        else:
            ws.send(to_js(bytes(message.to_py())[::-1]))

    async def webSocketClose(self, ws, code, reason, was_clean):
        listed = len(self.ctx.getWebSockets())
        await self.ctx.storage.put("close", [code, reason, was_clean, ws.readyState, listed])

    # -- RPC: what the object's ctx says

    async def last_close(self):
        return await self.ctx.storage.get("close")

    def tags(self):
        return [list(self.ctx.getTags(ws)) for ws in self.ctx.getWebSockets()]

    def count(self, tag=None):
        return len(self.ctx.getWebSockets() if tag is None else self.ctx.getWebSockets(tag))

    def names(self):
        return [ws.deserializeAttachment().to_py()["name"] for ws in self.ctx.getWebSockets()]

    def listened_to(self):
        return self.listened

    def accept_waiting(self):
        self.listen(self.waiting)

    def send_from_the_waiting_end(self):
        self.waiting.send("too early")

    # -- RPC: the hibernation API on a pair made here

    def accept_tagged(self, tags):
        _client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server, to_js(tags))
        return list(self.ctx.getTags(server))

    def accept_python_list(self):
        _client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server, ["a"])

    def accept_twice(self):
        _client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        self.ctx.acceptWebSocket(server)

    def accept_then_standard_accept(self):
        _client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        server.accept()

    def standard_accept_then_accept(self):
        _client, server = WebSocketPair.new()
        server.accept()
        self.ctx.acceptWebSocket(server)

    def accept_both_ends(self):
        client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        self.ctx.acceptWebSocket(client)

    def tags_of_standard_socket(self):
        _client, server = WebSocketPair.new()
        server.accept()
        return self.ctx.getTags(server)

    def tags_of_new_socket(self):
        _client, server = WebSocketPair.new()
        return self.ctx.getTags(server)

    def accept_many(self, count):
        for _ in range(count):
            _client, server = WebSocketPair.new()
            self.ctx.acceptWebSocket(server)
        return len(self.ctx.getWebSockets())

    # -- RPC: auto-response and event timeout

    def set_auto_response(self, request, response):
        pair = WebSocketRequestResponsePair.new(request, response)
        self.ctx.setWebSocketAutoResponse(pair)

    def remove_auto_response(self):
        self.ctx.setWebSocketAutoResponse()

    def auto_response(self):
        pair = self.ctx.getWebSocketAutoResponse()
        return None if pair is jsnull else [pair.request, pair.response]

    def auto_response_times(self):
        times = [self.ctx.getWebSocketAutoResponseTimestamp(ws) for ws in self.ctx.getWebSockets()]
        return [None if t is jsnull else t.getTime() for t in times]

    def set_event_timeout(self, *ms):
        self.ctx.setHibernatableWebSocketEventTimeout(*ms)
        timeout = self.ctx.getHibernatableWebSocketEventTimeout()
        return None if timeout is jsnull else timeout


class Polite(Room):
    """Answers a close frame itself, as code for the older compatibility
    dates must."""

    async def webSocketClose(self, ws, code, reason, was_clean):
        await super().webSocketClose(ws, code, reason, was_clean)
        ws.close(code, reason)


class Quiet(DurableObject):
    """Accepts sockets and defines no WebSocket handler at all."""

    async def fetch(self, request):
        client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=client)

    def count(self):
        return len(self.ctx.getWebSockets())


class ReturnsItsOwnEnd(DurableObject):
    async def fetch(self, request):
        _client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=server)


pytestmark = pytest.mark.durable_object(cls=Room)


async def connect(stub, query=""):
    response = await stub.fetch(f"https://room.example/ws{query}", headers=UPGRADE)
    assert response.status == 101
    return response.web_socket


# -- pairs and the 101 response ----------------------------------------------------


async def test_a_pair_unpacks_into_two_open_ends(durable_simulation):
    client, server = WebSocketPair.new()
    first, second = WebSocketPair.new().object_values()

    # Both ends of a new pair are OPEN; only new WebSocket(url) starts out
    # CONNECTING (workerd web-socket.c++ getReadyState).
    assert [client.readyState, server.readyState] == [OPEN, OPEN]
    assert [first.readyState, second.readyState] == [OPEN, OPEN]
    assert client != server


async def test_a_101_response_hands_the_client_end_to_the_caller(durable_ns):
    response = await durable_ns.getByName("r").fetch("https://room.example/ws", headers=UPGRADE)

    ws = response.web_socket
    assert response.status == 101
    assert response.web_socket is ws
    assert (ws.closed, ws.close_code, ws.messages) == (False, None, [])
    assert ws.server.readyState == OPEN


# -- acceptWebSocket and tags (reference 2.4, 6.1, 6.2) --------------------------------


async def test_accept_web_socket_takes_tags_as_a_js_array(durable_ns):
    room = durable_ns.getByName("r")
    await connect(room, "?tags=red,blue")

    assert await room.tags() == [["red", "blue"]]


async def test_duplicate_tags_are_ignored(durable_ns):
    assert await durable_ns.getByName("r").accept_tagged(["a", "b", "a", "b"]) == ["a", "b"]


async def test_tags_as_a_python_list_are_refused(durable_ns):
    # Reference 2.4: tags must be to_js([...]).
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").accept_python_list()

    assert str(raised.value) == (
        "TypeError: Failed to execute 'acceptWebSocket' on 'DurableObjectState': "
        "parameter 2 is not of type 'Array'."
    )
    assert raised.value.remote is True


async def test_ten_tags_are_allowed(durable_ns):
    tags = [f"t{i}" for i in range(10)]

    assert await durable_ns.getByName("r").accept_tagged(tags) == tags


@pytest.mark.parametrize(
    "tags",
    [[f"t{i}" for i in range(11)], [*(f"t{i}" for i in range(10)), "t0"]],
    ids=["eleven-distinct", "ten-and-a-duplicate"],
)
async def test_more_than_ten_tags_are_refused(durable_ns, tags):
    # Reference 6.2: the count is checked before duplicates are dropped.
    room = durable_ns.getByName("r")

    with pytest.raises(JsException) as raised:
        await room.accept_tagged(tags)

    assert str(raised.value) == "Error: a Hibernatable WebSocket cannot have more than 10 tags"
    assert await room.count() == 0


async def test_a_tag_is_limited_to_256_utf8_bytes(durable_ns):
    room = durable_ns.getByName("r")
    longest = "é" * 128  # 256 bytes in UTF-8
    too_long = longest + "x"

    assert await room.accept_tagged([longest]) == [longest]
    with pytest.raises(JsException) as raised:
        await room.accept_tagged([too_long])

    assert str(raised.value) == (
        f'Error: "{too_long}" is longer than the max tag length (256 characters).'
    )


async def test_a_socket_cannot_be_accepted_twice(durable_ns):
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").accept_twice()

    assert str(raised.value) == (
        "Error: Cannot call `acceptWebSocket()` if the WebSocket was already accepted via "
        "`accept()`"
    )


async def test_accept_after_accept_web_socket_is_refused(durable_ns):
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").accept_then_standard_accept()

    assert str(raised.value) == "TypeError: Can't accept() WebSocket after enabling hibernation."


async def test_accept_web_socket_after_accept_is_refused(durable_ns):
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").standard_accept_then_accept()

    assert str(raised.value) == (
        "Error: Cannot call `acceptWebSocket()` if the WebSocket was already accepted via "
        "`accept()`"
    )


async def test_both_ends_of_a_pair_cannot_be_accepted(durable_ns):
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").accept_both_ends()

    assert str(raised.value) == (
        "Error: Cannot call `acceptWebSocket()` on this WebSocket because its pair has already "
        "been accepted or used in a Response."
    )


async def test_an_accepted_socket_cannot_be_returned_in_a_response(durable_simulation):
    durable_simulation.add_namespace("OWN_END", ReturnsItsOwnEnd)
    stub = durable_simulation.namespace("OWN_END").getByName("r")

    # Reference 1.4: a failed stub.fetch reaches Python as pyfetch's
    # AbortError, an OSError carrying the JavaScript message.
    with pytest.raises(OSError) as raised:
        await stub.fetch("https://room.example/ws", headers=UPGRADE)

    assert str(raised.value) == (
        "Can't return WebSocket in a Response after calling acceptWebSocket()."
    )


# -- getWebSockets and getTags (reference 6.2, 6.3) -----------------------------------


async def test_get_web_sockets_filters_by_tag(durable_ns):
    room = durable_ns.getByName("r")
    for query in ("?tags=x", "?tags=x,y", "?tags=y"):
        await connect(room, query)

    assert [await room.count(), await room.count("x"), await room.count("y")] == [3, 2, 2]
    assert await room.count("z") == 0
    # Inferred from workerd (reference 6.3): most recently accepted first.
    assert await room.tags() == [["y"], ["x", "y"], ["x"]]


async def test_tags_of_a_standard_socket(durable_ns):
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").tags_of_standard_socket()

    assert str(raised.value) == "Error: only hibernatable websockets can have tags."


async def test_tags_of_a_socket_never_accepted(durable_ns):
    with pytest.raises(JsException) as raised:
        await durable_ns.getByName("r").tags_of_new_socket()

    assert str(raised.value) == (
        "Error: you must call 'acceptWebSocket()' before attempting to access the tags of a "
        "WebSocket."
    )


async def test_an_object_accepts_at_most_32768_hibernatable_sockets(durable_ns):
    room = durable_ns.getByName("r")

    assert await room.accept_many(32_768) == 32_768
    with pytest.raises(JsException) as raised:
        await room.accept_many(1)

    assert str(raised.value) == (
        "Error: only 32768 websockets can be accepted on a single Durable Object instance"
    )
    assert await room.count() == 32_768


# -- attachments (reference 6.5) ------------------------------------------------------


async def test_an_attachment_is_null_until_set_and_round_trips(durable_ns):
    ws = await connect(durable_ns.getByName("r"))
    server = ws.server

    # JavaScript null reaches Python as pyodide.ffi.jsnull, which is falsy.
    assert server.deserializeAttachment() is jsnull
    server.serializeAttachment(to_js({"n": 1, "tags": ["a"]}, dict_converter=Object.fromEntries))
    assert server.deserializeAttachment().to_py() == {"n": 1, "tags": ["a"]}


async def test_a_python_dict_attachment_cannot_be_cloned(durable_ns):
    server = (await connect(durable_ns.getByName("r"))).server

    with pytest.raises(JsException) as raised:
        server.serializeAttachment({"n": 1})

    assert raised.value.name == "DataCloneError"
    assert str(raised.value).endswith("could not be cloned.")


async def test_an_attachment_is_limited_to_16384_bytes(durable_ns):
    server = (await connect(durable_ns.getByName("r"))).server
    # V8 serializes a one-byte string as a 2-byte header, a tag, a varint
    # length and the characters: 20,000 characters take 20,006 bytes.
    server.serializeAttachment("x" * 16_379)  # exactly 16,384 bytes

    with pytest.raises(JsException) as raised:
        server.serializeAttachment("x" * 20_000)

    assert str(raised.value) == (
        "Error: A WebSocket 'attachment' cannot be larger than 16384 bytes.'attachment' was "
        "20006 bytes."
    )
    assert server.deserializeAttachment() == "x" * 16_379


async def test_the_attachment_limit_was_2048_bytes_before_2026_02_23():
    simulation = Simulation(compat=Compat("2026-02-22"))
    simulation.add_namespace("ROOM", Room)

    with simulation:
        server = (await connect(simulation.namespace("ROOM").getByName("r"))).server
        server.serializeAttachment("x" * 2043)  # exactly 2,048 bytes
        with pytest.raises(JsException) as raised:
            server.serializeAttachment("x" * 2044)

    assert str(raised.value) == (
        "Error: A WebSocket 'attachment' cannot be larger than 2048 bytes.'attachment' was "
        "2049 bytes."
    )


# -- send and close (reference 6.4) ---------------------------------------------------


async def test_text_and_binary_messages_reach_the_client(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    await ws.send("hello")
    await ws.send(b"\x00\x01\xff")

    assert ws.messages == ["echo:hello", b"\xff\x01\x00"]
    assert await ws.receive() == "echo:hello"
    assert await ws.receive() == b"\xff\x01\x00"
    assert ws.messages == []


async def test_send_after_close_is_refused(durable_ns):
    ws = await connect(durable_ns.getByName("r"))
    ws.server.close(1000, "done")

    with pytest.raises(JsException) as raised:
        ws.server.send("late")

    assert str(raised.value) == "TypeError: Can't call WebSocket send() after close()."


async def test_send_after_the_peer_dropped_is_ignored(durable_ns):
    ws = await connect(durable_ns.getByName("r"))
    server = ws.server
    await ws.drop()

    assert server.send("nobody listens") is None
    assert ws.messages == []


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 5000])
async def test_invalid_close_codes_are_refused(durable_ns, code):
    ws = await connect(durable_ns.getByName("r"))

    with pytest.raises(JsException) as raised:
        ws.server.close(code)

    assert str(raised.value) == f"InvalidAccessError: Invalid WebSocket close code: {code}."
    assert ws.server.readyState == OPEN


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1014, 1016, 3000, 4999])
async def test_valid_close_codes_reach_the_client(durable_ns, code):
    ws = await connect(durable_ns.getByName("r"))

    ws.server.close(code, "bye")

    assert (ws.close_code, ws.close_reason, ws.closed) == (code, "bye", True)


async def test_a_close_reason_needs_a_code(durable_ns):
    # The name is DOMInvalidAccessError's (workerd web-socket.c++ close()).
    ws = await connect(durable_ns.getByName("r"))

    with pytest.raises(JsException) as raised:
        ws.server.close(None, "why")  # None reaches JavaScript as undefined

    assert str(raised.value) == (
        "InvalidAccessError: If you specify a WebSocket close reason, you must also specify a "
        "code."
    )


async def test_a_close_reason_is_limited_to_123_utf8_bytes(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    with pytest.raises(JsException) as raised:
        ws.server.close(1000, "é" * 61 + "xx")  # 124 bytes

    assert str(raised.value) == (
        "SyntaxError: WebSocket close reason must not be longer than 123 bytes when UTF-8 "
        "encoded."
    )
    ws.server.close(1000, "é" * 61 + "x")  # 123 bytes
    assert ws.close_reason == "é" * 61 + "x"


async def test_a_long_close_reason_was_allowed_before_2026_03_03():
    simulation = Simulation(compat=Compat("2026-03-02"))
    simulation.add_namespace("ROOM", Room)

    with simulation:
        ws = await connect(simulation.namespace("ROOM").getByName("r"))
        ws.server.close(1000, "x" * 124)

    assert (ws.close_code, ws.close_reason) == (1000, "x" * 124)


async def test_close_without_a_code_arrives_as_1005(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    ws.server.close()

    assert (ws.close_code, ws.close_reason) == (1005, "")


async def test_a_second_close_is_ignored(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    ws.server.close(4000, "first")
    ws.server.close(4001, "second")

    assert (ws.close_code, ws.close_reason) == (4000, "first")


async def test_ready_state_follows_the_closing_handshake(durable_ns):
    ws = await connect(durable_ns.getByName("r"))
    server = ws.server
    assert server.readyState == OPEN

    server.close(1000)

    # The test's client answers a close frame at once, as browsers do.
    assert server.readyState == CLOSED


# -- auto-response (reference 6.7; oracle probe kv_ws / sql_ws) --------------------------


async def test_auto_response_is_none_until_set(durable_ns):
    room = durable_ns.getByName("r")
    assert await room.auto_response() is None

    await room.set_auto_response("ping", "pong")
    assert await room.auto_response() == ["ping", "pong"]

    await room.remove_auto_response()
    assert await room.auto_response() is None


async def test_only_the_exact_request_is_answered(durable_ns):
    room = durable_ns.getByName("r")
    await room.set_auto_response("ping", "pong")
    ws = await connect(room)

    await ws.send("ping")
    assert ws.messages == ["pong"]
    ws.handlers.webSocketMessage.assert_not_called()

    # The oracle: "PING" and "ping " reach webSocketMessage.
    await ws.send("PING")
    await ws.send("ping ")
    assert ws.messages == ["pong", "echo:PING", "echo:ping "]
    assert ws.handlers.webSocketMessage.call_args_list == [call(ANY, "PING"), call(ANY, "ping ")]


async def test_a_binary_message_never_matches_the_auto_response(durable_ns):
    room = durable_ns.getByName("r")
    await room.set_auto_response("ping", "pong")
    ws = await connect(room)

    await ws.send(b"ping")

    assert ws.messages == [b"gnip"]


async def test_the_auto_response_timestamp_is_the_clock_at_the_last_ping(
    durable_ns, durable_clock
):
    room = durable_ns.getByName("r")
    await room.set_auto_response("ping", "pong")
    ws = await connect(room)
    # The oracle: null until the first auto-response.
    assert await room.auto_response_times() == [None]

    first = durable_clock.now_ms
    await ws.send("ping")
    assert await room.auto_response_times() == [first]

    await durable_clock.advance(30)
    await ws.send("ping")
    assert await room.auto_response_times() == [first + 30_000]

    # It keeps the last time once the auto-response is removed (reference 6.7).
    await room.remove_auto_response()
    assert await room.auto_response_times() == [first + 30_000]


@pytest.mark.parametrize(
    ("request_text", "response_text", "error"),
    [
        (
            "x" * 2049, "pong",
            "RangeError: Request cannot be larger than 2048 bytes. A request of size 2049 "
            "was provided.",
        ),
        (
            "ping", "é" * 1025,
            "RangeError: Response cannot be larger than 2048 bytes. A response of size 2050 "
            "was provided.",
        ),
    ],
    ids=["request", "response-in-utf8-bytes"],
)
async def test_auto_response_size_limits(durable_ns, request_text, response_text, error):
    room = durable_ns.getByName("r")

    with pytest.raises(JsException) as raised:
        await room.set_auto_response(request_text, response_text)

    assert str(raised.value) == error
    await room.set_auto_response("x" * 2048, "é" * 1024)  # 2,048 bytes each
    assert await room.auto_response() == ["x" * 2048, "é" * 1024]


# -- event timeout (reference 2.7) ----------------------------------------------------


async def test_the_event_timeout_is_none_until_set(durable_ns):
    room = durable_ns.getByName("r")

    assert await room.set_event_timeout() is None
    assert await room.set_event_timeout(5000) == 5000
    assert await room.set_event_timeout(604_800_000) == 604_800_000
    assert await room.set_event_timeout(0) is None


async def test_the_event_timeout_is_at_most_seven_days(durable_ns):
    room = durable_ns.getByName("r")

    with pytest.raises(JsException) as raised:
        await room.set_event_timeout(604_800_001)

    assert str(raised.value) == "Error: Event timeout should not exceed 604800000 ms."


# -- handlers (reference 6.6) ---------------------------------------------------------


async def test_a_text_message_arrives_as_str(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    await ws.send("hi")

    ws.handlers.webSocketMessage.assert_called_once_with(ANY, "hi")
    (server, message), _ = ws.handlers.webSocketMessage.call_args
    assert server == ws.server
    assert type(message) is str


async def test_a_binary_message_arrives_as_an_array_buffer(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    await ws.send(b"\x01\x02")

    (_, message), _ = ws.handlers.webSocketMessage.call_args
    assert message.byteLength == 2
    view = message.to_py()
    assert isinstance(view, memoryview)
    assert bytes(view) == b"\x01\x02"


async def test_a_close_frame_reaches_web_socket_close(durable_ns):
    room = durable_ns.getByName("r")
    ws = await connect(room)

    await ws.close(4000, "bye")

    ws.handlers.webSocketClose.assert_called_once_with(ANY, 4000, "bye", True)
    # During webSocketClose the socket is still listed (reference 6.3), then it leaves.
    # oracle: a probe on workerd 2026-04-26 (Miniflare 4.20260426.0) under compatibility
    # dates 2026-01-01 and 2026-04-26: a handler that does not answer sees readyState 2
    # and the client gets {"code": 1006, "reason": "", "wasClean": false}.
    assert await room.last_close() == [4000, "bye", True, CLOSING, 1]
    assert await room.count() == 0
    assert (ws.close_code, ws.close_reason) == (1006, "")


async def test_an_empty_close_frame_arrives_as_1005(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    await ws.close()

    ws.handlers.webSocketClose.assert_called_once_with(ANY, 1005, "", True)
    # Room does not answer the close frame: the runtime drops the connection (oracle).
    assert (ws.close_code, ws.close_reason) == (1006, "")


async def test_a_dropped_connection_arrives_as_1006(durable_ns):
    room = durable_ns.getByName("r")
    ws = await connect(room)

    await ws.drop()

    ws.handlers.webSocketClose.assert_called_once_with(ANY, 1006, DISCONNECTED, False)
    assert await room.last_close() == [1006, DISCONNECTED, False, CLOSED, 1]
    assert (ws.close_code, ws.close_reason) == (1006, DISCONNECTED)
    assert await room.count() == 0


async def test_no_event_follows_a_close(durable_ns):
    ws = await connect(durable_ns.getByName("r"))
    await ws.close(1000)

    with pytest.raises(RuntimeError, match=r"^cannot send: this end of the WebSocket is already"):
        await ws.send("late")

    assert ws.handlers.webSocketMessage.call_count == 0
    assert ws.handlers.webSocketClose.call_count == 1


async def test_missing_handlers_drop_their_events(durable_simulation):
    durable_simulation.add_namespace("QUIET", Quiet)
    stub = durable_simulation.namespace("QUIET").getByName("q")
    ws = await connect(stub)

    await ws.send("hi")
    await ws.close(1000, "bye")

    # Quiet has no handlers: the events are dropped, no handler ran, and that
    # is not an error.
    ws.handlers.assert_nothing_called()
    assert ws.handlers.errors == []
    assert ws.messages == []
    # Nothing answered the close frame: the client sees the connection dropped (oracle).
    assert (ws.close_code, ws.close_reason) == (1006, "")
    assert await stub.count() == 0


async def test_a_failing_handler_keeps_the_socket_and_the_object(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    ws = await connect(room)
    await ws.send("before")
    constructions = durable_simulation.host_of(room).constructions

    await ws.send("raise")

    [error] = ws.handlers.errors
    assert isinstance(error, ValueError)
    assert str(error) == "the handler failed"
    ws.handlers.errors.clear()  # checked: the teardown would report it otherwise
    assert (ws.closed, ws.server.readyState) == (False, OPEN)
    await ws.send("heard")
    assert json.loads(ws.messages[-1]) == ["before"]  # the same instance, memory intact
    assert durable_simulation.host_of(room).constructions == constructions


def test_an_unchecked_handler_error_is_reported_at_teardown(pytester):
    pytester.makepyfile(
        """
        from js import WebSocketPair
        import pytest
        from workers import DurableObject, Response

        class Fragile(DurableObject):
            async def fetch(self, request):
                client, server = WebSocketPair.new()
                self.ctx.acceptWebSocket(server)
                return Response(None, status=101, web_socket=client)

            async def webSocketMessage(self, ws, message):
                raise ValueError("the handler failed")

        @pytest.mark.durable_object(cls=Fragile)
        async def test_it(durable_ns):
            response = await durable_ns.getByName("f").fetch(
                "https://f.example/", headers={"Upgrade": "websocket"}
            )
            await response.web_socket.send("hi")
        """
    )

    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
        "-o", "asyncio_default_fixture_loop_scope=function", "-o", "durable_leftovers=fail",
    )

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*- Fragile object 'f': a WebSocket handler raised ValueError('the handler failed') "
            "(clear handler_calls(stub).errors once checked)*"
        ]
    )


# -- the closing handshake by compatibility date (reference 6.6) ------------------------


async def test_a_hibernatable_socket_gets_no_automatic_reply_even_after_2026_04_07(durable_ns):
    room = durable_ns.getByName("r")
    ws = await connect(room)

    await ws.close(4000, "bye")

    # web_socket_auto_reply_to_close is on (the default date, 2026-04-26, is after
    # 2026-04-07), but it applies to sockets accepted with accept() only.
    # oracle: a probe on workerd 2026-04-26 (Miniflare 4.20260426.0) under compatibility
    # dates 2026-01-01 and 2026-04-26: a handler that does not answer sees readyState 2
    # and the client gets {"code": 1006, "reason": "", "wasClean": false}.
    assert (ws.close_code, ws.close_reason) == (1006, "")
    assert (await room.last_close())[3] == CLOSING


async def test_before_2026_04_07_too_the_handler_must_answer_a_close_frame():
    simulation = Simulation(compat=Compat("2026-01-01"))
    simulation.add_namespace("ROOM", Room)
    simulation.add_namespace("POLITE", Polite)

    with simulation:
        room = simulation.namespace("ROOM").getByName("r")
        silent = await connect(room)
        await silent.close(4000, "bye")
        polite_room = simulation.namespace("POLITE").getByName("p")
        polite = await connect(polite_room)
        await polite.close(4000, "bye")

        assert (await room.last_close())[3] == CLOSING
        assert (await polite_room.last_close())[3] == CLOSING

    # oracle (the probe above, compatibility date 2026-01-01): unanswered, the client sees 1006.
    assert (silent.closed, silent.close_code) == (True, 1006)
    assert (polite.close_code, polite.close_reason) == (4000, "bye")


async def test_the_manual_reply_flag_keeps_the_old_handshake():
    simulation = Simulation(compat=Compat("2026-04-26", ["web_socket_manual_reply_to_close"]))
    simulation.add_namespace("ROOM", Room)

    with simulation:
        room = simulation.namespace("ROOM").getByName("r")
        ws = await connect(room)
        await ws.close(4000, "bye")

        assert (await room.last_close())[3] == CLOSING

    assert ws.close_code == 1006


# -- protocol pings and hibernation (reference 6.7, 8.1) --------------------------------


async def test_a_ping_gets_a_pong_without_waking_the_object(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    ws = await connect(room)
    durable_simulation.hibernate(room)
    constructions = durable_simulation.host_of(room).constructions

    assert await ws.ping() is True

    assert ws.pongs == 1
    assert durable_simulation.host_of(room).constructions == constructions
    ws.handlers.assert_nothing_called()


async def test_an_auto_response_does_not_wake_the_object(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    await room.set_auto_response("ping", "pong")
    ws = await connect(room)
    durable_simulation.hibernate(room)
    constructions = durable_simulation.host_of(room).constructions

    await ws.send("ping")

    assert ws.messages == ["pong"]
    assert durable_simulation.host_of(room).constructions == constructions


async def test_hibernation_keeps_sockets_tags_and_attachments(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    alice = await connect(room, "?tags=members,a&name=alice")
    bob = await connect(room, "?tags=members&name=bob")
    await alice.send("before")
    constructions = durable_simulation.host_of(room).constructions

    durable_simulation.hibernate(room)
    await bob.send("heard")

    # The constructor ran again and the in-memory list started empty...
    assert bob.messages == ["[]"]
    assert durable_simulation.host_of(room).constructions == constructions + 1
    # ...while the sockets, their tags and their attachments stayed.
    assert await room.tags() == [["members"], ["members", "a"]]
    assert await room.names() == ["bob", "alice"]
    assert (alice.closed, bob.closed) == (False, False)
    assert alice.server.readyState == OPEN


async def test_handler_calls_are_kept_across_hibernation(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    ws = await connect(room)
    await ws.send("one")
    durable_simulation.hibernate(room)
    await ws.send("two")

    calls = durable_simulation.handler_calls(room)
    assert calls is ws.handlers
    assert calls.webSocketMessage.call_args_list == [call(ANY, "one"), call(ANY, "two")]


# -- the standard API (reference 6.1) ---------------------------------------------------


async def test_a_standard_socket_gets_events_through_listeners(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    ws = await connect(room, "?api=standard")

    await ws.send("hi")

    assert ws.messages == ["standard:hi"]
    assert await room.listened_to() == ["hi"]
    durable_simulation.handler_calls(room).assert_nothing_called()
    with pytest.raises(RuntimeError) as raised:
        ws.handlers  # noqa: B018 - the property raises

    assert str(raised.value) == "the other end was not accepted with ctx.acceptWebSocket()"


async def test_a_standard_socket_closes_through_its_listener(durable_ns):
    room = durable_ns.getByName("r")
    ws = await connect(room, "?api=standard")

    await ws.close(4000, "bye")

    # From 2026-04-07 the runtime answers the close frame before the event.
    assert await room.listened_to() == [[4000, "bye", True, CLOSED]]
    assert (ws.close_code, ws.close_reason) == (4000, "bye")


async def test_messages_sent_before_accept_are_delivered_after_it(durable_ns):
    room = durable_ns.getByName("r")
    ws = await connect(room, "?api=later")
    await ws.send("early")
    await ws.close(4000, "bye")
    assert await room.listened_to() == []

    await room.accept_waiting()

    assert await ws.receive() == "standard:early"
    assert await room.listened_to() == ["early", [4000, "bye", True, CLOSED]]
    assert (ws.close_code, ws.close_reason) == (4000, "bye")


async def test_a_socket_sends_only_once_accepted(durable_ns):
    room = durable_ns.getByName("r")
    await connect(room, "?api=later")

    with pytest.raises(JsException) as raised:
        await room.send_from_the_waiting_end()

    assert str(raised.value) == (
        "TypeError: You must call one of accept() or state.acceptWebSocket() on this WebSocket "
        "before sending messages."
    )


async def test_hibernation_closes_standard_sockets_only(durable_ns, durable_simulation):
    room = durable_ns.getByName("r")
    standard = await connect(room, "?api=standard")
    hibernatable = await connect(room)

    durable_simulation.hibernate(room)

    assert (standard.close_code, standard.close_reason) == (1006, DISCONNECTED)
    assert not hibernatable.closed
    with pytest.raises(ConnectionClosed) as raised:
        await standard.receive()
    assert (raised.value.code, raised.value.reason) == (1006, DISCONNECTED)


# -- the client end -------------------------------------------------------------------


async def test_receive_waits_in_virtual_time(durable_ns, durable_clock):
    ws = await connect(durable_ns.getByName("r"))
    start = durable_clock.now_ms

    with pytest.raises(TimeoutError) as raised:
        await ws.receive(timeout=5)

    assert str(raised.value) == "no WebSocket message arrived within 5 s"
    assert durable_clock.now_ms == start + 5000


async def test_a_message_over_32_mib_is_refused_by_the_client(durable_ns):
    ws = await connect(durable_ns.getByName("r"))

    with pytest.raises(ValueError) as raised:
        await ws.send(b"\x00" * (32 * 1024 * 1024 + 1))

    assert str(raised.value) == (
        "a message of 33554433 bytes is over the runtime's limit of 33554432 bytes; the "
        "runtime would close the connection (1009)"
    )
    ws.handlers.webSocketMessage.assert_not_called()


class Slow(DurableObject):
    """Handles one message in an hour of virtual time."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.setHibernatableWebSocketEventTimeout(1_000)

    async def fetch(self, request):
        client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        await asyncio.sleep(3600)
        ws.send("done")


@pytest.mark.durable_object(cls=Slow)
async def test_an_event_past_the_event_timeout_shuts_the_object_down(
    durable_ns, durable_simulation
):
    stub = durable_ns.getByName("slow")
    ws = await connect(stub)
    before = durable_simulation.host_of(stub).constructions
    await ws.send("work")
    await asyncio.sleep(2)  # virtual: the 1 s event timeout passes
    # Reference 2.7: the object is shut down with the runtime's message.
    assert [str(e) for e in ws.handlers.errors] == [
        "Error: Actor exceeded event execution time and was disconnected."
    ]
    ws.handlers.errors.clear()
    assert ws.messages == []
    await ws.send("again")  # the next event reaches a new instance
    assert durable_simulation.host_of(stub).constructions == before + 1
    ws.handlers.errors.clear()


async def test_binary_messages_to_standard_sockets_are_blobs_from_2026_03_17():
    # compatibility-date.capnp websocketStandardBinaryType: binaryType defaults
    # to "blob", which the simulator does not model, so it says so.
    simulation = Simulation(compat=Compat("2026-04-01"))
    simulation.add_namespace("ROOM", Room)
    with simulation:
        room = simulation.namespace("ROOM").getByName("r")
        resp = await room.fetch("https://example.com/?api=standard", headers=UPGRADE)
        ws = resp.web_socket
        with pytest.raises(NotImplementedError, match="arrives as a Blob"):
            await ws.send(b"bytes")
        await ws.send("text still works")
        assert await ws.receive() == "standard:text still works"


def test_a_wait_that_never_ends_names_the_handler_error(pytester: pytest.Pytester) -> None:
    # A handler that raised before replying leaves the client waiting forever;
    # the DeadlockError says what the simulation recorded meanwhile.
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "durable_idle_timeout = 0.2\ndurable_leftovers = ignore\n"
    )
    pytester.makepyfile(
        test_stuck='''
import pytest
from js import WebSocketPair
from workers import DurableObject, Response


class Broken(DurableObject):
    async def fetch(self, request):
        client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        raise ValueError("cannot reply")


@pytest.mark.durable_object(cls=Broken)
async def test_it(durable_ns):
    resp = await durable_ns.getByName("b").fetch("https://x/", headers={"Upgrade": "websocket"})
    ws = resp.web_socket
    await ws.send("hello")
    await ws.receive()
'''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*DeadlockError*",
            "*- Broken object 'b': a WebSocket handler raised ValueError('cannot reply')*",
        ]
    )
