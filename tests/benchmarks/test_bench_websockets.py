"""How long WebSocket scenarios take in real time (pytest-benchmark).

    pytest tests/benchmarks/test_bench_websockets.py -p no:xdist --benchmark-only

Each benchmark runs a scenario on a ``Simulation`` built directly, under
``asyncio.Runner(loop_factory=DurableEventLoop)``, and checks its result;
nothing here asserts a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from js import WebSocketPair
from workers import DurableObject, Response

from pytest_durable import DurableEventLoop, Simulation

MEMBERS = 1_000
SOCKET_LIMIT = 32_768


class Broadcast(DurableObject):
    """Every message goes to every member."""

    async def fetch(self, request):
        client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        for member in self.ctx.getWebSockets():
            member.send(message)


class Crowded(DurableObject):
    def accept(self, count):
        for _ in range(count):
            _client, server = WebSocketPair.new()
            self.ctx.acceptWebSocket(server)
        return len(self.ctx.getWebSockets())


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner(loop_factory=DurableEventLoop) as runner:
        yield runner


@dataclass
class Room:
    simulation: Simulation
    stub: Any = None
    members: list[Any] = field(default_factory=list)


async def hibernated_room(room: Room) -> None:
    """``MEMBERS`` sockets on one object, which then hibernates."""
    room.stub = room.simulation.namespace("BROADCAST").getByName("room")
    for _ in range(MEMBERS):
        response = await room.stub.fetch("https://room.example/", headers={"Upgrade": "websocket"})
        room.members.append(response.web_socket)
    room.simulation.hibernate(room.stub)


async def broadcast(room: Room) -> int:
    """One member speaks; the object wakes and sends to everyone."""
    await room.members[0].send("hello")
    return sum(member.messages == ["hello"] for member in room.members)


async def accept_up_to_the_limit() -> int:
    simulation = Simulation()
    simulation.add_namespace("CROWDED", Crowded)
    async with simulation:
        return int(await simulation.namespace("CROWDED").getByName("c").accept(SOCKET_LIMIT))


def test_one_message_to_a_thousand_hibernated_sockets(benchmark, runner):
    """Only the broadcast is timed; each round connects a fresh room first."""
    rooms: list[Room] = []
    scopes = ExitStack()

    def setup() -> tuple[tuple[Room], dict[str, Any]]:
        simulation = Simulation()
        simulation.add_namespace("BROADCAST", Broadcast)
        scopes.enter_context(simulation)
        rooms.append(Room(simulation))
        runner.run(hibernated_room(rooms[-1]))
        return (rooms[-1],), {}

    def teardown(room: Room) -> None:
        runner.run(room.simulation.aclose())
        scopes.close()

    result = benchmark.pedantic(
        lambda room: runner.run(broadcast(room)), setup=setup, teardown=teardown, rounds=5
    )

    assert result == MEMBERS
    # Built once for the connections, once more when the broadcast woke it.
    assert {room.simulation.host_of(room.stub).constructions for room in rooms} == {2}


def test_32768_sockets_on_one_object(benchmark, runner):
    result = benchmark.pedantic(lambda: runner.run(accept_up_to_the_limit()), rounds=3)

    assert result == SOCKET_LIMIT
