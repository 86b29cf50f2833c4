"""Durable Objects in the older style: on_fetch, un-awaited writes, state
loaded by an un-awaited blockConcurrencyWhile in __init__."""

import asyncio

from js import Date

URL = "https://visits.example.com/"


async def test_on_fetch_is_the_handler(durable_env):
    home = durable_env.VISITS.getByName("home")
    assert [await (await home.fetch(URL)).text() for _ in range(3)] == [
        "visit 1",
        "visit 2",
        "visit 3",
    ]


async def test_unawaited_puts_are_written(durable_env):
    home = durable_env.VISITS.getByName("home")
    await home.fetch(URL)
    await home.fetch(URL)
    assert await home.dump() == {"count": 2, "last_visit": Date.now()}


async def test_constructor_loads_the_count_before_requests(durable_env, durable_simulation):
    home = durable_env.VISITS.getByName("home")
    await home.fetch(URL)
    await home.fetch(URL)
    # Eviction drops the instance and its in-memory count; storage stays.
    durable_simulation.hibernate(home)

    fresh = durable_env.VISITS.getByName("home")
    responses = await asyncio.gather(*(fresh.fetch(URL) for _ in range(3)))
    assert sorted([await r.text() for r in responses]) == ["visit 3", "visit 4", "visit 5"]


async def test_rpc_takes_dicts(durable_env):
    settings = durable_env.SETTINGS.getByName("global")
    assert await settings.save({"theme": "dark", "font_size": 14}) == {
        "theme": "dark",
        "font_size": 14,
    }
    assert await settings.save({"theme": "light"}) == {"theme": "light", "font_size": 14}
    response = await settings.fetch(URL + "settings")
    assert await response.json() == {"theme": "light", "font_size": 14}


async def test_settings_survive_a_restart(durable_env, durable_simulation):
    settings = durable_env.SETTINGS.getByName("global")
    await settings.save({"theme": "dark", "lang": "fr"})
    durable_simulation.hibernate(settings)
    response = await settings.fetch(URL + "settings")
    assert await response.json() == {"theme": "dark", "lang": "fr"}


async def test_mixin_methods_are_rpc_methods(durable_env):
    settings = durable_env.SETTINGS.getByName("global")
    await settings.save({"theme": "dark", "lang": "fr"})
    assert await settings.dump() == {"setting:lang": "fr", "setting:theme": "dark"}
    assert await settings.forget(["setting:lang", "setting:missing"]) == 1
    assert await settings.dump() == {"setting:theme": "dark"}

    visits = durable_env.VISITS.getByName("home")
    assert await visits.dump() == {}
    await visits.fetch(URL)
    assert await visits.forget(["count"]) == 1
