"""What ``sql.exec`` costs inside a simulated Durable Object, next to the same
statements on a plain ``sqlite3`` connection.

Run with ``pytest tests/benchmarks -p no:xdist --benchmark-only``. The tests
assert results only; the timings are for reading, not for failing a run.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from workers import DurableObject

from pytest_durable import DurableEventLoop, Simulation

ROWS = 10_000
CREATE = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"
INSERT = "INSERT INTO t (id, v) VALUES (?, ?)"
SELECT = "SELECT v FROM t WHERE id = ?"


class Bench(DurableObject):
    def insert(self, count: int) -> int:
        sql = self.ctx.storage.sql
        sql.exec(CREATE)
        for i in range(count):
            sql.exec(INSERT, i, f"v{i}")
        return count

    def query(self, count: int) -> int:
        sql = self.ctx.storage.sql
        found = 0
        for i in range(count):
            if sql.exec(SELECT, i).one().v == f"v{i}":
                found += 1
        return found


class World:
    """A simulation with one SQLite-backed object, on a loop that outlives
    one benchmark round (so that filling the table is not timed)."""

    def __init__(self) -> None:
        self._runner = asyncio.Runner(loop_factory=DurableEventLoop)
        self._simulation = Simulation()
        self._simulation.add_namespace("N", Bench, sqlite=True)
        self._simulation.__enter__()
        self.stub = self._simulation.env.N.getByName("bench")

    def run(self, call: Callable[[], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            return await call()

        return self._runner.run(main())

    def close(self) -> None:
        self._runner.run(self._simulation.aclose())
        self._simulation.__exit__(None, None, None)
        self._runner.close()


@pytest.fixture
def worlds() -> Iterator[list[World]]:
    """Worlds of a benchmark: each round's is closed when the next one is made
    (simulations freeze the clock, and must be left in the order entered)."""
    made: list[World] = []
    yield made
    while made:
        made.pop().close()


def new_world(worlds: list[World]) -> World:
    while worlds:
        worlds.pop().close()
    worlds.append(World())
    return worlds[-1]


def plain_connection() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(CREATE)
    return conn


def plain_insert(conn: sqlite3.Connection, count: int) -> int:
    # The simulated object's writes of one turn form one transaction, and
    # its numbers are bound as REAL: the same here.
    conn.execute("BEGIN")
    for i in range(count):
        conn.execute(INSERT, (float(i), f"v{i}"))
    conn.execute("COMMIT")
    return count


def plain_query(conn: sqlite3.Connection, count: int) -> int:
    found = 0
    for i in range(count):
        if conn.execute(SELECT, (float(i),)).fetchone()[0] == f"v{i}":
            found += 1
    return found


def test_simulated_inserts(benchmark: Any, worlds: list[World]) -> None:
    def setup() -> tuple[tuple[World], dict[str, Any]]:
        return (new_world(worlds),), {}

    def insert(world: World) -> int:
        return int(world.run(lambda: world.stub.insert(ROWS)))

    result = benchmark.pedantic(insert, setup=setup, rounds=5)

    assert result == ROWS


def test_plain_sqlite3_inserts(benchmark: Any) -> None:
    def setup() -> tuple[tuple[sqlite3.Connection], dict[str, Any]]:
        return (plain_connection(),), {}

    result = benchmark.pedantic(lambda conn: plain_insert(conn, ROWS), setup=setup, rounds=5)

    assert result == ROWS


def test_simulated_point_queries(benchmark: Any, worlds: list[World]) -> None:
    def setup() -> tuple[tuple[World], dict[str, Any]]:
        world = new_world(worlds)
        world.run(lambda: world.stub.insert(ROWS))
        return (world,), {}

    def query(world: World) -> int:
        return int(world.run(lambda: world.stub.query(ROWS)))

    result = benchmark.pedantic(query, setup=setup, rounds=5)

    assert result == ROWS


def test_plain_sqlite3_point_queries(benchmark: Any) -> None:
    def setup() -> tuple[tuple[sqlite3.Connection], dict[str, Any]]:
        conn = plain_connection()
        plain_insert(conn, ROWS)
        return (conn,), {}

    result = benchmark.pedantic(lambda conn: plain_query(conn, ROWS), setup=setup, rounds=5)

    assert result == ROWS
