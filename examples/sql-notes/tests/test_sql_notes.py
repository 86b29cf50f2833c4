import pytest

from pytest_durable import JsException


async def test_notes_and_tags(durable_ns):
    book = durable_ns.getByName("ada")
    first = await book.add("groceries", "eggs", ["home", "todo"])
    second = await book.add("paper", "draft", ["work", "todo"])
    assert (first, second) == (1, 2)
    todo = await book.tagged("todo")
    assert [note.title for note in todo] == ["groceries", "paper"]
    assert todo[0] == {"id": 1, "title": "groceries", "stars": 0}


async def test_numbers_bind_as_real(durable_ns):
    book = durable_ns.getByName("ada")
    note = await book.add("x", "", [])
    await book.star(note, 5)
    await book.add("y", "", [])
    stats = await book.stats()
    # 5 was bound as REAL 5.0; avg(5.0, 0.0) = 2.5. An integral REAL reads back as int.
    assert stats["stars"] == 2.5
    assert stats["notes"] == 2


async def test_transaction_sync_is_all_or_nothing(durable_ns):
    book = durable_ns.getByName("ada")
    with pytest.raises(JsException) as caught:
        await book.add("", "an empty title breaks the CHECK", ["a"])
    assert "CHECK constraint failed" in caught.value.message
    assert (await book.stats())["notes"] == 0


async def test_foreign_keys_cascade(durable_ns):
    book = durable_ns.getByName("ada")
    note = await book.add("gone soon", "", ["t1", "t2"])
    assert await book.delete(note) == 1
    assert await book.tagged("t1") == []
