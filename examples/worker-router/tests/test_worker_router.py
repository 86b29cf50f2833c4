"""The Room object that the Worker routes to, reached through its namespace."""

import asyncio
import json

URL = "https://chat.example.com/rooms"


async def post(room, name, author, text):
    return await room.fetch(
        f"{URL}/{name}/messages",
        method="POST",
        body=json.dumps({"author": author, "text": text}),
        headers={"content-type": "application/json"},
    )


async def test_post_then_read_over_http(durable_env):
    lobby = durable_env.ROOMS.getByName("lobby")
    response = await post(lobby, "lobby", "ada", "hello")
    assert response.status == 201
    assert await response.json() == {"id": 1, "author": "ada", "text": "hello"}

    response = await lobby.fetch(f"{URL}/lobby/messages")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert await response.json() == {
        "room": "lobby",
        "messages": [{"id": 1, "author": "ada", "text": "hello"}],
    }


async def test_rooms_are_separate_objects(durable_env):
    rooms = durable_env.ROOMS
    await post(rooms.getByName("lobby"), "lobby", "ada", "in the lobby")
    await rooms.getByName("garden").post("bo", "in the garden")
    assert await rooms.getByName("lobby").messages() == [
        {"id": 1, "author": "ada", "text": "in the lobby"}
    ]
    assert await rooms.getByName("garden").messages() == [
        {"id": 1, "author": "bo", "text": "in the garden"}
    ]
    assert await rooms.getByName("attic").messages() == []


async def test_concurrent_posts_get_distinct_numbers(durable_env):
    # Each post reads the count and writes it back; the input gate keeps
    # concurrent posts from reading the same count.
    room = durable_env.ROOMS.getByName("busy")
    posted = await asyncio.gather(*(room.post("ada", f"#{n}") for n in range(20)))
    assert sorted(m["id"] for m in posted) == list(range(1, 21))
    assert [m["id"] for m in await room.messages()] == list(range(1, 21))


async def test_unknown_route_is_404(durable_env):
    response = await durable_env.ROOMS.getByName("lobby").fetch(f"{URL}/lobby/members")
    assert response.status == 404
    assert await response.text() == "no route for GET /members"


async def test_each_test_starts_with_empty_rooms(durable_env):
    assert await durable_env.ROOMS.getByName("lobby").messages() == []
