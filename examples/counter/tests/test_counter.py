import asyncio


async def test_counter(durable_ns):
    stub = durable_ns.getByName("alice")
    resp = await stub.fetch("https://example.com/increment")
    assert await resp.text() == "1"
    assert await stub.get_count() == 1


async def test_each_test_starts_empty(durable_ns):
    assert await durable_ns.getByName("alice").get_count() == 0


async def test_names_are_separate_objects(durable_ns):
    await durable_ns.getByName("alice").increment(5)
    assert await durable_ns.getByName("bob").get_count() == 0
    assert await durable_ns.getByName("alice").get_count() == 5


async def test_concurrent_increments_do_not_interleave(durable_ns):
    stub = durable_ns.getByName("busy")
    await asyncio.gather(*(stub.fetch("https://example.com/increment") for _ in range(50)))
    assert await stub.get_count() == 50
