import json
from unittest.mock import ANY

import pytest


async def join(room, name):
    url = f"https://chat.example/ws?name={name}"
    resp = await room.fetch(url, headers={"Upgrade": "websocket"})
    assert resp.status == 101
    return resp.web_socket


async def test_messages_reach_every_member(durable_ns):
    room = durable_ns.getByName("lobby")
    alice = await join(room, "alice")
    assert json.loads(await alice.receive()) == {"joined": "alice"}
    bob = await join(room, "bob")
    assert json.loads(await alice.receive()) == {"joined": "bob"}
    assert json.loads(await bob.receive()) == {"joined": "bob"}

    await alice.send("hello")
    expected = {"from": "alice", "text": "hello"}
    assert json.loads(await alice.receive()) == expected
    assert json.loads(await bob.receive()) == expected
    alice.handlers.webSocketMessage.assert_called_once_with(ANY, "hello")


async def test_tags_route_a_whisper(durable_ns):
    room = durable_ns.getByName("lobby")
    alice, bob = await join(room, "alice"), await join(room, "bob")
    await alice.send("/whisper bob psst")
    assert json.loads(bob.messages[-1]) == {"from": "alice", "whisper": "psst"}
    assert all("whisper" not in m for m in alice.messages)


async def test_auto_response_does_not_reach_the_handler(durable_ns):
    room = durable_ns.getByName("lobby")
    alice = await join(room, "alice")
    await alice.receive()
    await alice.send("ping")
    assert await alice.receive() == "pong"
    alice.handlers.webSocketMessage.assert_not_called()
    await alice.send("PING")  # only the exact text is answered by the runtime
    alice.handlers.webSocketMessage.assert_called_once_with(ANY, "PING")


async def test_hibernation_keeps_sockets_tags_and_attachments(durable_ns, durable_simulation):
    room = durable_ns.getByName("lobby")
    alice, bob = await join(room, "alice"), await join(room, "bob")
    constructions = durable_simulation.host_of(room).constructions
    durable_simulation.hibernate(room)

    await alice.ping()            # protocol pings are answered while it sleeps
    await alice.send("ping")      # and so is the auto-response
    assert alice.messages[-1] == "pong"
    assert durable_simulation.host_of(room).constructions == constructions

    await bob.send("good morning")  # a real message wakes it: the constructor runs again
    assert durable_simulation.host_of(room).constructions == constructions + 1
    assert json.loads(alice.messages[-1]) == {"from": "bob", "text": "good morning"}
    assert await room.members() == ["alice", "bob"]


async def test_close_and_drop(durable_ns):
    room = durable_ns.getByName("lobby")
    alice, bob = await join(room, "alice"), await join(room, "bob")
    await alice.close(4000, "bye")
    alice.handlers.webSocketClose.assert_called_once_with(ANY, 4000, "bye", True)
    assert json.loads(bob.messages[-1]) == {"left": "alice", "code": 4000}
    await bob.drop()
    bob.handlers.webSocketClose.assert_called_with(
        ANY, 1006, "WebSocket disconnected without sending Close frame.", False
    )
    assert await room.members() == []


async def test_binary_messages_arrive_as_array_buffers(durable_ns):
    room = durable_ns.getByName("lobby")
    alice = await join(room, "alice")
    await alice.send(b"raw bytes")
    assert json.loads(alice.messages[-1]) == {"from": "alice", "text": "raw bytes"}


@pytest.mark.parametrize("path", ["https://chat.example/", "https://chat.example/ws"])
async def test_plain_requests_are_refused(durable_ns, path):
    resp = await durable_ns.getByName("lobby").fetch(path)
    assert resp.status == 426
    assert resp.web_socket is None
