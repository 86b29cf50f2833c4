"""SQLite-backed storage (reference §3.5, §3.7, §3.8, §3.11, §3.12, §3.14, §4
and §9): ``ctx.storage.sql``, ``transactionSync``, ``transaction``, the KV API
on ``_cf_KV`` and ``ctx.storage.kv``, exact values and exact error texts,
observed from inside the object.

Expected values marked ``oracle`` were recorded from workerd
(``probe.json`` keys ``sql_sql``, ``sql_errors``, ``sql_list`` from a
SQLite-backed object, ``inmem_sql.json`` from a KV-backed one); those marked
``workerd`` come from workerd's own sources (``src/workerd/api/sql.c++``,
``src/workerd/util/sqlite.c++``, ``src/workerd/api/tests/sql-test.js``,
``src/workerd/api/actor-state.c++``); the others come from the reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from workers import DurableObject, JsDict

from pytest_durable import DurableEventLoop, JsException, Simulation

# The runtime's words (workerd: sql.c++ allowTransactions; oracle: probe.json
# sql_sql begin_transaction, savepoint, commit).
TRANSACTION_STATEMENT = (
    "Error: To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)
NOT_AUTHORIZED = "Error: not authorized: SQLITE_AUTH"
NO_STATEMENT = "Error: SQL code did not contain a statement."
WRONG_BINDINGS = "Error: Wrong number of parameter bindings for SQL query."
TOO_BIG = "Error: string or blob too big: SQLITE_TOOBIG"
MIB = 1024 * 1024
FAR_FUTURE_MS = 4_102_444_800_000.0  # 2100-01-01: an alarm that cannot fire during a test

# oracle: probe.json sql_list all (the order workerd lists these keys in)
ORACLE_KEY_ORDER = [
    "10", "9", "A", "B", "Z", "_", "a", "a\0", "ab", "p:1", "p:10", "p:2", "q:1", "é", "ﬃ", "😀",
]
# oracle: probe.json sql_list inserted (then the p: and q: keys)
ORACLE_INSERTION_ORDER = [
    "a", "B", "é", "10", "9", "Z", "_", "ab", "a\0", "😀", "ﬃ", "A", "p:1", "p:2", "p:10", "q:1",
]


def _error(exc: JsException) -> str:
    return str(exc)


class SqlObject(DurableObject):
    """Runs SQL in its own database; returns values, or the error's text."""

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.storage = ctx.storage
        self.sql = ctx.storage.sql

    # -- generic runners

    def rows(self, query: str, *bindings: Any) -> Any:
        try:
            return self.sql.exec(query, *bindings).toArray()
        except JsException as exc:
            return _error(exc)

    def raw(self, query: str, *bindings: Any) -> Any:
        try:
            return self.sql.exec(query, *bindings).raw().toArray()
        except JsException as exc:
            return _error(exc)

    def one(self, query: str, *bindings: Any) -> Any:
        try:
            return self.sql.exec(query, *bindings).one()
        except JsException as exc:
            return _error(exc)

    def script(self, *queries: str) -> Any:
        """Run each query in turn; the result (or error) of each."""
        return [self.rows(query) for query in queries]

    # -- the cursor

    def cursor_tour(self) -> Any:
        self.sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        inserted = self.sql.exec("INSERT INTO t (v) VALUES (?), (?), (?)", "a", "b", "c")
        cursor = self.sql.exec("SELECT id, v FROM t ORDER BY id")
        first = cursor.next()
        rest = cursor.toArray()
        done = cursor.next()
        # Counters are read once, after the rows: the SDK's wrapper keeps the
        # first value it reads of an attribute (see stale_attributes).
        return {
            "inserted": [inserted.columnNames, inserted.rowsRead, inserted.rowsWritten],
            "first": [first.done, first.value],
            "rest": rest,
            "done": [done.done, done.value],
            "after": [cursor.columnNames, cursor.rowsRead, cursor.rowsWritten],
            "again": cursor.toArray(),
        }

    def column_names_before_and_after(self) -> Any:
        self.sql.exec("CREATE TABLE t (a INTEGER, b TEXT)")
        self.sql.exec("INSERT INTO t VALUES (1, 'x')")
        cursor = self.sql.exec("SELECT a, b AS bee FROM t")
        before = list(cursor.columnNames)
        rows = cursor.toArray()
        return [before, rows, self.ctx.storage.sql.exec("SELECT b FROM t").raw().toArray()]

    def stale_attributes(self) -> Any:
        """The SDK's wrapper caches every attribute it reads (setattr in
        ``_BindingWrapper.__getattr__``), so a second read returns the first value."""
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        self.sql.exec("INSERT INTO t VALUES (1), (2)")
        cursor = self.sql.exec("SELECT n FROM t")
        before = cursor.rowsRead
        cursor.toArray()
        return [before, cursor.rowsRead]

    def iterate(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        self.sql.exec("INSERT INTO t VALUES (1), (2), (3)")
        seen = [row.n for row in self.sql.exec("SELECT n FROM t ORDER BY n")]
        raw = [list(row) for row in self.sql.exec("SELECT n, n * 10 FROM t ORDER BY n").raw()]
        cursor = self.sql.exec("SELECT n FROM t ORDER BY n")
        first = cursor.raw().next()
        return {"seen": seen, "raw": raw, "raw_next": [first.done, first.value],
                "rest": cursor.toArray()}

    def writes(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        insert = self.sql.exec("INSERT INTO t VALUES (1), (2), (3), (4)")
        update = self.sql.exec("UPDATE t SET n = n + 1 WHERE n > 2")
        delete = self.sql.exec("DELETE FROM t WHERE n = 1")
        select = self.sql.exec("SELECT * FROM t")
        select.toArray()
        return [
            [insert.rowsRead, insert.rowsWritten],
            [update.rowsWritten],
            [delete.rowsWritten],
            [select.rowsRead, select.rowsWritten],
        ]

    def one_errors(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        none = self.one("SELECT * FROM t")
        self.sql.exec("INSERT INTO t VALUES (1), (2)")
        many = self.one("SELECT * FROM t")
        cursor = self.sql.exec("SELECT n FROM t WHERE n = 1")
        row = cursor.one()
        return [none, many, row, cursor.toArray()]

    # -- values

    def bind_types(self) -> Any:
        return self.raw(
            "SELECT typeof(?), typeof(?), typeof(?), typeof(?), typeof(?), typeof(?)",
            5, 2.5, "s", True, None, b"\x00\xff",
        )

    def blob_round_trip(self) -> Any:
        self.sql.exec("CREATE TABLE b (data BLOB)")
        self.sql.exec("INSERT INTO b VALUES (?)", b"\x00\x01\xff")
        value = self.sql.exec("SELECT data, typeof(data) AS kind FROM b").one()
        return [type(value.data).__name__, bytes(value.data), value.kind]

    def result_types(self) -> Any:
        row = self.sql.exec(
            "SELECT 9223372036854775807 AS big, 42 AS small, 3.0 AS integral, 2.5 AS half, "
            "'x' AS text, NULL AS absent"
        ).one()
        return {key: [type(value).__name__, value] for key, value in row.items()}

    def row_shape(self) -> Any:
        self.sql.exec("CREATE TABLE abc (a INT, b INT, c INT)")
        self.sql.exec("CREATE TABLE cde (c INT, d INT, e INT)")
        self.sql.exec("INSERT INTO abc VALUES (1, 2, 3)")
        self.sql.exec("INSERT INTO cde VALUES (7, 8, 9)")
        row = self.sql.exec("SELECT * FROM abc, cde").one()
        cursor = self.sql.exec("SELECT * FROM abc, cde")
        return {
            "type": type(row).__name__,
            "attribute": row.c,
            "items": [list(item) for item in row.items()],
            "columnNames": cursor.columnNames,
            "raw": cursor.raw().toArray(),
        }

    # -- transactions

    def failing_statement_keeps_earlier_writes(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER CHECK (n < 10))")
        self.sql.exec("INSERT INTO t VALUES (1)")
        error = self.rows("INSERT INTO t VALUES (2), (20)")
        return [error, self.raw("SELECT n FROM t")]

    async def implicit_transaction(self, path: str) -> Any:
        """What another connection sees of the file between two awaits."""

        def committed() -> Any:
            reader = sqlite3.connect(path)
            try:
                return reader.execute("SELECT count(*) FROM t").fetchone()[0]
            except sqlite3.OperationalError as exc:
                return str(exc)
            finally:
                reader.close()

        self.sql.exec("CREATE TABLE t (n INTEGER)")
        await asyncio.sleep(0)
        seen = [committed()]
        self.sql.exec("INSERT INTO t VALUES (1)")
        seen.append(committed())
        self.sql.exec("INSERT INTO t VALUES (2)")
        seen.append(committed())
        await asyncio.sleep(0)
        seen.append(committed())
        return seen

    def transaction_sync(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")

        def write(n: int) -> Any:
            self.sql.exec("INSERT INTO t VALUES (?)", n)
            return f"wrote {n}"

        committed = self.storage.transactionSync(lambda: write(1))

        def fail() -> None:
            write(2)
            self.sql.exec("SELECT * FROM misspelled")

        try:
            self.storage.transactionSync(fail)
        except JsException as exc:
            failed = _error(exc)

        def outer() -> Any:
            write(3)
            try:
                self.storage.transactionSync(lambda: [write(4), 1 / 0])
            except ZeroDivisionError as exc:
                inner = type(exc).__name__
            return [inner, self.raw("SELECT n FROM t ORDER BY n")]

        nested = self.storage.transactionSync(outer)
        return [committed, failed, nested, self.raw("SELECT n FROM t ORDER BY n")]

    async def delete_all_in_transaction_sync(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        errors = []

        def delete_all() -> str:
            self.sql.exec("INSERT INTO t VALUES (1)")
            errors.append(self.storage.deleteAll())
            return "returned"

        result = self.storage.transactionSync(delete_all)
        try:
            await errors[0]
        except JsException as exc:
            errors[0] = _error(exc)
        return [result, errors, self.raw("SELECT n FROM t")]

    def transaction_sync_python_error(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")

        def fail() -> None:
            self.sql.exec("INSERT INTO t VALUES (1)")
            raise KeyError("missing")

        try:
            self.storage.transactionSync(fail)
        except KeyError as exc:
            return [type(exc).__name__, str(exc), self.raw("SELECT n FROM t")]
        return "no error"

    async def returning_left_unread(self) -> Any:
        self.sql.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        cursor = self.sql.exec("INSERT INTO t (v) VALUES ('a'), ('b') RETURNING id")
        await asyncio.sleep(0)
        dropped = self.rows("DROP TABLE t")
        return [dropped, cursor.toArray()]

    async def transaction_rolls_back(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        self.sql.exec("INSERT INTO t VALUES (0)")
        await self.storage.put("k", "before")

        async def closure(txn: Any) -> None:
            self.sql.exec("INSERT INTO t VALUES (1)")
            await self.storage.put("k", "inside")
            await self.storage.put("new", 1)
            await txn.put("txn", 1)
            await txn.setAlarm(FAR_FUTURE_MS)
            raise ValueError("undo everything")

        try:
            await self.storage.transaction(closure)
        except ValueError as exc:
            error = str(exc)
        return {
            "error": error,
            "rows": self.raw("SELECT n FROM t"),
            "kv": dict(await self.storage.list()),
            "alarm": await self.storage.getAlarm(),
        }

    async def transaction_rollback_undoes_alarm_set_on_storage(self) -> Any:
        async def closure(txn: Any) -> None:
            await self.storage.setAlarm(FAR_FUTURE_MS)
            txn.rollback()

        await self.storage.transaction(closure)
        return await self.storage.getAlarm()

    async def transaction_commits(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")

        async def closure(txn: Any) -> str:
            self.sql.exec("INSERT INTO t VALUES (1)")
            await txn.put("k", "v")

            async def inner(txn2: Any) -> None:
                self.sql.exec("INSERT INTO t VALUES (2)")
                await asyncio.sleep(1)
                txn2.rollback()

            await self.storage.transaction(inner)
            return "done"

        result = await self.storage.transaction(closure)
        return [result, self.raw("SELECT n FROM t"), await self.storage.get("k")]

    # -- KV on SQLite

    async def kv_tour(self) -> Any:
        await self.storage.put("k", {"a": 1})
        after_put = self.rows("SELECT key FROM _cf_KV")
        return [await self.storage.get("k"), after_put]

    async def kv_limits(self) -> Any:
        long_key = "k" * 3000
        await self.storage.put(long_key, 1)
        await self.storage.put({f"m{i:03}": i for i in range(129)})
        many = await self.storage.get([f"m{i:03}" for i in range(129)])
        try:
            await self.storage.put("big", "x" * (4 * MIB))
            big = "stored"
        except JsException as exc:
            big = _error(exc)
        await self.storage.put("big", "x" * (4 * MIB - 100))
        after = "just under 4 MiB" if len(await self.storage.get("big")) == 4 * MIB - 100 else ""
        return [await self.storage.get(long_key), len(many), big, after]

    async def kv_list(self, options: Any = None) -> Any:
        return list(await self.storage.list(**(options or {})))

    async def put_keys(self, keys: list[str]) -> None:
        for key in keys:
            await self.storage.put(key, key)

    def sync_kv(self) -> Any:
        kv = self.storage.kv
        before = kv.get("a")
        kv.put("b", {"n": 2})
        kv.put("a", [1])
        kv.put("c", "three")
        listed = list(kv.list())
        prefixed = list(kv.list(start="b", limit=1))
        deleted = [kv.delete("c"), kv.delete("c")]
        return [before, kv.get("a"), listed, prefixed, deleted, list(kv.list(reverse=True))]

    async def kv_and_sync_kv_share_data(self) -> Any:
        await self.storage.put("async", 1)
        self.storage.kv.put("sync", 2)
        return [self.storage.kv.get("async"), await self.storage.get("sync")]

    async def delete_all(self) -> Any:
        self.sql.exec("CREATE TABLE t (n INTEGER)")
        self.sql.exec("CREATE VIEW v AS SELECT * FROM t")
        self.sql.exec("INSERT INTO t VALUES (1)")
        await self.storage.put("k", "v")
        await self.storage.deleteAll()
        return {
            "tables": self.raw("SELECT name FROM sqlite_master"),
            "kv": dict(await self.storage.list()),
            "select_kv": self.rows("SELECT * FROM _cf_KV"),
            "reuse": self.rows("CREATE TABLE t (n INTEGER)"),
        }

    def database_size(self, step: str) -> Any:
        if step == "create":
            self.sql.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
            self.sql.exec("INSERT INTO t (v) VALUES (?), (?) RETURNING id", "one", "two")
        elif step == "grow":
            self.sql.exec("CREATE TABLE one_more_page (v TEXT)")
        elif step == "shrink":
            self.sql.exec("DROP TABLE one_more_page")
        size = self.sql.databaseSize
        return [type(size).__name__, size]


class KvObject(DurableObject):
    """A KV-backed object: no SQL."""

    def sql_error(self) -> str:
        try:
            _ = self.ctx.storage.sql
        except JsException as exc:
            return _error(exc)
        return "no error"

    def sync_kv_error(self) -> str:
        try:
            _ = self.ctx.storage.kv
        except JsException as exc:
            return _error(exc)
        return "no error"

    def transaction_sync_error(self) -> str:
        try:
            self.ctx.storage.transactionSync(lambda: "sync-ok")
        except JsException as exc:
            return _error(exc)
        return "no error"


pytestmark = pytest.mark.durable_object(cls=SqlObject, sqlite=True)


@pytest.fixture
def stub(durable_ns: Any) -> Any:
    return durable_ns.getByName("sql")


# -- availability ---------------------------------------------------------------------


@pytest.mark.durable_object(cls=KvObject)
async def test_kv_backed_object_has_no_sql(durable_ns: Any) -> None:
    stub = durable_ns.getByName("kv")

    # oracle: inmem_sql.json create (workerd: actor-state.c++ getSqliteDb, the
    # production branch)
    assert await stub.sql_error() == (
        "Error: This Durable Object is not backed by SQLite storage, so the SQL API is not "
        "available. SQL can be enabled on a new Durable Object class by using the "
        "`new_sqlite_classes` instead of `new_classes` under `[[migrations]]` in your "
        "wrangler.toml, but an already-deployed class cannot be converted to SQLite (except by "
        "deleting the existing data)."
    )
    # workerd: actor-state.c++ getSqliteKv, the production branch
    assert await stub.sync_kv_error() == (
        "Error: The storage.kv (synchronous KV) API is only available for SQLite-backed Durable "
        "Objects, but this object's namespace is not declared to use SQLite. You can use the "
        "older, asyncronous interface via methods of `storage` itself (e.g. `storage.get()`). "
        "SQLite can be enabled on a new Durable Object class by using the `new_sqlite_classes` "
        "instead of `new_classes` under `migrations` in your wrangler.jsonc or wrangler.toml, "
        "but an already-deployed class cannot be converted to SQLite (except by deleting the "
        "existing data)."
    )
    # workerd: actor-state.c++ transactionSync
    assert await stub.transaction_sync_error() == "Error: Durable Object is not backed by SQL."


# -- exec and the cursor ----------------------------------------------------------------


async def test_insert_returning_select_and_raw(stub: Any) -> None:
    create = await stub.rows("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    inserted = await stub.rows("INSERT INTO t (v) VALUES (?), (?) RETURNING id", "one", "two")
    selected = await stub.rows("SELECT * FROM t ORDER BY id")

    assert create == []
    # oracle: probe.json sql_sql insert, select, raw
    assert inserted == [{"id": 1}, {"id": 2}]
    assert selected == [{"id": 1, "v": "one"}, {"id": 2, "v": "two"}]
    assert all(type(row) is JsDict for row in selected)
    assert await stub.raw("SELECT id, v FROM t ORDER BY id") == [[1, "one"], [2, "two"]]


async def test_cursor_next_to_array_column_names_and_counts(stub: Any) -> None:
    tour = await stub.cursor_tour()

    assert tour == {
        # A statement without result columns; its rows are written at exec().
        "inserted": [[], 0, 3],
        "first": [False, {"id": 1, "v": "a"}],
        "rest": [{"id": 2, "v": "b"}, {"id": 3, "v": "c"}],
        "done": [True, None],
        # columnNames stays readable after the cursor is consumed (workerd: sql-test.js).
        # oracle: probe.json sql_sql select (rowsRead 2 for two rows, rowsWritten 0)
        "after": [["id", "v"], 3, 0],
        "again": [],
    }


async def test_column_names_stay_readable(stub: Any) -> None:
    # workerd: sql-test.js (columnNames after the iterator is consumed)
    assert await stub.column_names_before_and_after() == [
        ["a", "bee"], [{"a": 1, "bee": "x"}], [["x"]]
    ]


async def test_the_sdk_wrapper_keeps_the_first_value_of_an_attribute(stub: Any) -> None:
    assert await stub.stale_attributes() == [0, 0]


async def test_cursor_iteration_and_raw_share_one_stream(stub: Any) -> None:
    assert await stub.iterate() == {
        "seen": [1, 2, 3],
        "raw": [[1, 10], [2, 20], [3, 30]],
        "raw_next": [False, [1]],
        "rest": [{"n": 2}, {"n": 3}],
    }


async def test_rows_read_and_written(stub: Any) -> None:
    # Approximations of workerd's counters: rows changed by a write, rows
    # returned by a read (documented in docs/sql.md).
    assert await stub.writes() == [[0, 4], [2], [1], [3, 0]]


async def test_one(stub: Any) -> None:
    none, many, row, rest = await stub.one_errors()

    # workerd: sql.c++ (sql-test.js); oracle: probe.json sql_sql one_with_two_rows
    assert none == "Error: Expected exactly one result from SQL query, but got no results."
    assert many == "Error: Expected exactly one result from SQL query, but got multiple results."
    assert row == {"n": 1}
    assert rest == []


async def test_multi_statement_query(stub: Any) -> None:
    result = await stub.rows(
        "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1); SELECT 'first';"
        " SELECT n, ? AS bound FROM t",
        "last",
    )

    # Bindings go to the last statement; only its rows come back.
    assert result == [{"n": 1, "bound": "last"}]
    # workerd: sqlite.c++ prepareSql (MULTI)
    assert await stub.rows("SELECT ?; SELECT 1", "x") == (
        "Error: When executing multiple SQL statements in a single call, only the last "
        "statement can have parameters."
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        ";",
        "-- only a comment",
        "SELECT 123; SELECT 456; -- trailing comment",
        "SELECT 1;;",
        "SELECT 1; ;",
    ],
)
async def test_no_statement(stub: Any, query: str) -> None:
    # workerd: sql-test.js ('', ';', and the trailing comment); sqlite.c++
    # prepareSql prepares what follows each statement, and fails when it
    # holds no statement.
    assert await stub.rows(query) == NO_STATEMENT


async def test_statements_before_the_trailing_comment_have_run(stub: Any) -> None:
    assert await stub.rows("CREATE TABLE t (n INTEGER); -- a trailing comment") == NO_STATEMENT

    assert await stub.rows("SELECT * FROM t") == []


async def test_a_comment_without_a_semicolon_belongs_to_the_statement(stub: Any) -> None:
    assert await stub.rows("SELECT 1 AS one -- a comment") == [{"one": 1}]
    assert await stub.rows("/* a comment */ SELECT 2 AS two;") == [{"two": 2}]
    assert await stub.rows(";; SELECT 3 AS three;   ") == [{"three": 3}]


@pytest.mark.parametrize(
    ("query", "bindings"), [("SELECT ?", ()), ("SELECT ?", (1, 2)), ("SELECT 1", (1,))]
)
async def test_wrong_number_of_bindings(stub: Any, query: str, bindings: tuple[Any, ...]) -> None:
    # workerd: sqlite.c++; sql-test.js
    assert await stub.rows(query, *bindings) == WRONG_BINDINGS


async def test_syntax_error_without_the_offset(stub: Any) -> None:
    # oracle: probe.json sql_sql syntax_error says '... syntax error at offset 0:
    # SQLITE_ERROR'; Python's sqlite3 cannot read the offset (docs/sql.md).
    assert await stub.rows("SELEC 1") == 'Error: near "SELEC": syntax error: SQLITE_ERROR'


# -- values ---------------------------------------------------------------------------------


async def test_bound_parameter_types(stub: Any) -> None:
    # Numbers bind as REAL, bool as TEXT, bytes as BLOB (reference §4.3).
    assert await stub.bind_types() == [["real", "real", "text", "text", "null", "blob"]]
    assert await stub.rows("SELECT ? / 2 AS half", 5) == [{"half": 2.5}]
    assert await stub.rows("SELECT ? AS flag", True) == [{"flag": "true"}]
    assert await stub.rows("SELECT ? AS flag", False) == [{"flag": "false"}]


async def test_bigint_binding(stub: Any) -> None:
    # oracle: probe.json sql_sql bigint_binding
    assert await stub.rows("SELECT ? AS x", 2**53 + 1) == (
        "TypeError: Cannot convert a BigInt value to a number"
    )


async def test_blob_comes_back_as_memoryview(stub: Any) -> None:
    assert await stub.blob_round_trip() == ["memoryview", b"\x00\x01\xff", "blob"]


async def test_result_types(stub: Any) -> None:
    assert await stub.result_types() == {
        # An INTEGER beyond 2**53 arrives as a double: a float, precision lost.
        "big": ["float", 9.223372036854776e18],
        "small": ["int", 42],
        # An integral REAL arrives as int (reference §4.4).
        "integral": ["int", 3],
        "half": ["float", 2.5],
        "text": ["str", "x"],
        "absent": ["NoneType", None],
    }


async def test_duplicate_column_names(stub: Any) -> None:
    # workerd: sql-test.js (joining two tables with overlapping names)
    assert await stub.row_shape() == {
        "type": "JsDict",
        "attribute": 7,
        "items": [["a", 1], ["b", 2], ["c", 7], ["d", 8], ["e", 9]],
        "columnNames": ["a", "b", "c", "c", "d", "e"],
        "raw": [[1, 2, 3, 7, 8, 9]],
    }


# -- what SQL may not do ------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "BEGIN TRANSACTION",
        "BEGIN",
        "SAVEPOINT sp1",
        "COMMIT",
        "ROLLBACK",
        "RELEASE sp1",
        "SELECT 1; BEGIN",
    ],
)
async def test_transaction_statements(stub: Any, query: str) -> None:
    # oracle: probe.json sql_sql begin_transaction, savepoint, commit
    assert await stub.rows(query) == TRANSACTION_STATEMENT


async def test_cf_names(stub: Any) -> None:
    # workerd: sql-test.js; oracle: probe.json sql_sql select_kv_internal
    assert await stub.rows("SELECT * FROM _cf_KV") == "Error: no such table: _cf_KV: SQLITE_ERROR"
    assert await stub.rows("CREATE TABLE _cf_x (n INTEGER)") == NOT_AUTHORIZED
    assert await stub.rows("CREATE TABLE _CF_x (n INTEGER)") == NOT_AUTHORIZED
    assert await stub.rows("CREATE TABLE t (n INTEGER)") == []
    assert await stub.rows("CREATE INDEX _cf_i ON t (n)") == NOT_AUTHORIZED
    assert await stub.rows("CREATE VIEW _cf_v AS SELECT 1") == NOT_AUTHORIZED

    # oracle: probe.json sql_sql kv_put_in_sqlite_backed, sql_after_kv_put
    value, error = await stub.kv_tour()

    assert value == {"a": 1}
    assert error == "Error: access to _cf_KV.key is prohibited: SQLITE_AUTH"
    assert await stub.rows("PRAGMA table_info(_cf_KV)") == NOT_AUTHORIZED
    assert await stub.rows("DROP TABLE _cf_KV") == NOT_AUTHORIZED


async def test_functions(stub: Any) -> None:
    # workerd: sql-test.js matches the start of this message. SQLite reports
    # a denied function as SQLITE_ERROR (resolve.c), not SQLITE_AUTH; workerd
    # adds the offset ("at offset 7"), which is not reproduced (docs/sql.md).
    assert await stub.rows("SELECT sqlite_version()") == (
        "Error: not authorized to use function: sqlite_version: SQLITE_ERROR"
    )
    assert await stub.raw("SELECT abs(-123), cos(0), json_extract('{\"a\": 2}', '$.a')") == [
        [123, 1, 2]
    ]
    assert await stub.raw("SELECT '{\"a\":2,\"c\":[4,5,{\"f\":7}]}' -> '$.c'") == [
        ['[4,5,{"f":7}]']
    ]


async def test_recursive_common_table_expression(stub: Any) -> None:
    # workerd: sqlite.c++ isAuthorized allows SQLITE_RECURSIVE
    assert await stub.raw(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4) "
        "SELECT i FROM n"
    ) == [[1], [2], [3], [4]]


async def test_pragmas(stub: Any) -> None:
    await stub.rows("CREATE TABLE myTable (foo TEXT, bar INTEGER)")

    info = await stub.rows("PRAGMA table_info(myTable)")

    assert [(column["name"], column["type"]) for column in info] == [
        ("foo", "TEXT"), ("bar", "INTEGER")
    ]
    # Foreign keys are enforced by default (workerd: sql-test.js).
    assert await stub.rows("PRAGMA foreign_keys") == [{"foreign_keys": 1}]
    assert await stub.rows("PRAGMA foreign_keys = off") == []
    assert await stub.rows("PRAGMA foreign_keys") == [{"foreign_keys": 0}]
    assert await stub.rows("PRAGMA quick_check") == [{"quick_check": "ok"}]
    assert await stub.rows("PRAGMA quick_check(100)") == [{"quick_check": "ok"}]
    assert await stub.rows("PRAGMA quick_check(myTable)") == [{"quick_check": "ok"}]
    assert await stub.rows("PRAGMA defer_foreign_keys = 'yes'") == []
    assert await stub.rows("PRAGMA defer_foreign_keys") == [{"defer_foreign_keys": 1}]


@pytest.mark.parametrize(
    "query",
    [
        "PRAGMA user_version = 1",
        "PRAGMA user_version",
        # oracle: probe.json sql_sql pragma_user
        "PRAGMA journal_mode",
        "PRAGMA page_size = 8192",
        "PRAGMA data_version = 5",
        "PRAGMA hard_heap_limit = 1024",
        "PRAGMA defer_foreign_keys = abcd",
        "PRAGMA table_info(_cf_KV)",
        "PRAGMA quick_check(_cf_KV)",
        "PRAGMA optimize(abc)",
    ],
)
async def test_denied_pragmas(stub: Any, query: str) -> None:
    # workerd: sqlite.c++ ALLOWED_PRAGMAS; sql-test.js
    assert await stub.rows(query) == NOT_AUTHORIZED


@pytest.mark.parametrize(
    "query",
    [
        "CREATE TEMP TABLE t (n INTEGER)",
        "CREATE TEMPORARY VIEW v AS SELECT 1",
        "ATTACH DATABASE ':memory:' AS other",
        "CREATE VIRTUAL TABLE v USING fts5abcd(body)",
    ],
)
async def test_denied_statements(stub: Any, query: str) -> None:
    # workerd: sqlite.c++ isAuthorized
    assert await stub.rows(query) == NOT_AUTHORIZED


async def test_full_text_search_is_allowed(stub: Any) -> None:
    await stub.rows("CREATE VIRTUAL TABLE docs USING FtS5(body)")
    await stub.rows("INSERT INTO docs VALUES ('the quick fox'), ('a lazy dog')")

    assert await stub.raw("SELECT body FROM docs WHERE docs MATCH 'fox'") == [["the quick fox"]]


# -- limits (reference §4.10, §9) -----------------------------------------------------


async def test_too_many_bindings(stub: Any) -> None:
    query = "SELECT " + ", ".join("?" * 101)

    # oracle: probe.json sql_sql too_many_bindings says 'too many SQL variables at
    # offset 207: SQLITE_ERROR'; the offset is not reproduced (docs/sql.md).
    assert await stub.rows(query, *range(101)) == "Error: too many SQL variables: SQLITE_ERROR"
    assert len((await stub.raw("SELECT " + ", ".join("?" * 100), *range(100)))[0]) == 100


async def test_statement_too_long(stub: Any) -> None:
    query = "SELECT '" + "x" * (100 * 1024 + 10) + "'"

    # oracle: probe.json sql_sql sql_statement_over_100KB
    assert await stub.rows(query) == "Error: statement too long: SQLITE_TOOBIG"
    # The limit is on the whole query, not on each of its statements.
    half = "SELECT '" + "x" * 60_000 + "';"
    assert await stub.rows(half + half) == "Error: statement too long: SQLITE_TOOBIG"
    exactly = "SELECT '" + "x" * (100_000 - len("SELECT '' AS x")) + "' AS x"
    assert len(await stub.raw(exactly)) == 1


async def test_compound_select_terms(stub: Any) -> None:
    five = " UNION ALL ".join(f"SELECT {i}" for i in range(1, 6))

    # workerd: sql-test.js
    assert await stub.raw(five) == [[1], [2], [3], [4], [5]]
    assert await stub.rows(five + " UNION ALL SELECT 6") == (
        "Error: too many terms in compound SELECT: SQLITE_ERROR"
    )


async def test_row_size(stub: Any) -> None:
    await stub.rows("CREATE TABLE t (v)")

    # oracle: probe.json sql_sql blob_2MB_plus (accepted), blob_4MiB_plus
    assert await stub.rows("INSERT INTO t VALUES (?)", "x" * (2 * MIB + 100)) == []
    assert await stub.rows("INSERT INTO t VALUES (?)", "x" * (4 * MIB + 1)) == TOO_BIG
    assert await stub.rows("INSERT INTO t VALUES (zeroblob(?))", 4 * MIB + 1) == TOO_BIG
    assert await stub.raw("SELECT count(*) FROM t") == [[1]]


async def test_constraints(stub: Any) -> None:
    await stub.script(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name != ''))",
        "CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))",
        "INSERT INTO parent VALUES (1, 'p')",
    )

    assert await stub.script(
        "INSERT INTO parent VALUES (2, '')",
        "INSERT INTO parent VALUES (3, NULL)",
        "INSERT INTO parent VALUES (1, 'again')",
        "INSERT INTO child VALUES (99)",
        "INSERT INTO child VALUES (1)",
        "DELETE FROM parent",
        "INSERT INTO parent (rowid, name) VALUES ('yeah', 'nah')",
    ) == [
        "Error: CHECK constraint failed: name != '': SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_CHECK)",
        "Error: NOT NULL constraint failed: parent.name: SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_NOTNULL)",
        "Error: UNIQUE constraint failed: parent.id: SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_PRIMARYKEY)",
        # Foreign keys are enforced by default (workerd: sql-test.js).
        "Error: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_FOREIGNKEY)",
        [],
        "Error: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_FOREIGNKEY)",
        # workerd: sql-test.js
        "Error: datatype mismatch: SQLITE_MISMATCH",
    ]


async def test_database_size(stub: Any, durable_simulation: Any) -> None:
    # oracle: probe.json sql_sql databaseSize (8192 after the table and two rows)
    assert await stub.database_size("create") == ["int", 8192]
    # The SDK's wrapper of ctx.storage.sql keeps the first value it read...
    assert await stub.database_size("grow") == ["int", 8192]
    # ...until a new instance wraps it again: (page_count - freelist_count) * page_size.
    durable_simulation.hibernate(stub)
    assert await stub.database_size("read") == ["int", 12288]
    durable_simulation.hibernate(stub)
    assert await stub.database_size("shrink") == ["int", 8192]


# -- transactions ---------------------------------------------------------------------


async def test_a_failing_statement_undoes_only_itself(stub: Any) -> None:
    error, rows = await stub.failing_statement_keeps_earlier_writes()

    assert error == (
        "Error: CHECK constraint failed: n < 10: SQLITE_CONSTRAINT "
        "(extended: SQLITE_CONSTRAINT_CHECK)"
    )
    # The earlier insert of the same implicit transaction stays; so does
    # nothing of the failed multi-row insert.
    assert rows == [[1]]
    assert await stub.raw("SELECT n FROM t") == [[1]]


def test_writes_between_two_awaits_commit_together(tmp_path: Path) -> None:
    # The implicit transaction commits at the next turn of the event loop
    # (reference §4.8); another connection to the file sees it then.
    sim = Simulation()
    sim.add_namespace("N", SqlObject, sqlite=True, persist_dir=tmp_path)

    async def scenario() -> Any:
        async with sim:
            stub = sim.env.N.getByName("n")
            # The file is named by the binding, the object's name and 8 digits of its id.
            path = tmp_path / f"N-n-{stub.id.toString()[:8]}.sqlite"
            return await stub.implicit_transaction(str(path))

    with asyncio.Runner(loop_factory=DurableEventLoop) as runner:
        assert runner.run(scenario()) == [0, 0, 0, 2]


async def test_an_unread_returning_cursor_does_not_hold_the_commit(stub: Any) -> None:
    # SQLite cannot commit while a write is being stepped; the simulator reads
    # the rest of such a cursor's rows when the implicit transaction commits.
    assert await stub.returning_left_unread() == [[], [{"id": 1}, {"id": 2}]]


async def test_transaction_sync(stub: Any) -> None:
    committed, failed, nested, rows = await stub.transaction_sync()

    assert committed == "wrote 1"
    # workerd: sql-test.js (transactionSync, failure)
    assert failed == "Error: no such table: misspelled: SQLITE_ERROR"
    # The inner failure undid 4 only; the outer kept 3.
    assert nested == ["ZeroDivisionError", [[1], [3]]]
    assert rows == [[1], [3]]


async def test_delete_all_inside_transaction_sync(stub: Any) -> None:
    # reference §3.5
    assert await stub.delete_all_in_transaction_sync() == [
        "returned",
        ["Error: Cannot call deleteAll() within a transaction"],
        [[1]],
    ]


async def test_transaction_sync_keeps_the_python_exception(stub: Any) -> None:
    assert await stub.transaction_sync_python_error() == ["KeyError", "'missing'", []]


async def test_transaction_rolls_back_sql_kv_and_alarm(stub: Any) -> None:
    assert await stub.transaction_rolls_back() == {
        "error": "undo everything",
        "rows": [[0]],
        "kv": {"k": "before"},
        "alarm": None,
    }


@pytest.mark.durable_clock(leftovers="ignore")
async def test_transaction_rollback_undoes_an_alarm_set_on_storage(stub: Any) -> None:
    # On SQLite-backed objects the alarm lives in the database (reference
    # §3.14), so a rollback undoes setAlarm() called on ctx.storage too.
    assert await stub.transaction_rollback_undoes_alarm_set_on_storage() is None


async def test_transaction_commits_and_nests(stub: Any) -> None:
    assert await stub.transaction_commits() == ["done", [[1]], "v"]


# -- KV on SQLite ---------------------------------------------------------------------


async def test_kv_limits_are_the_row_limit(stub: Any) -> None:
    long_value, many, big, after = await stub.kv_limits()

    # oracle: probe.json sql_errors key_2049_bytes, get_129_keys. The error is
    # value_string_len_3MiB's, recorded under the row limit before 4 MiB
    # (2,200,000 bytes: the oracle's workerd is from 2026-04-26).
    assert long_value == 1
    assert many == 129
    assert big == TOO_BIG
    assert after == "just under 4 MiB"


async def test_kv_list_order(stub: Any) -> None:
    await stub.put_keys(ORACLE_INSERTION_ORDER)

    # oracle: probe.json sql_list
    assert await stub.kv_list() == ORACLE_KEY_ORDER
    assert await stub.kv_list({"reverse": True}) == ORACLE_KEY_ORDER[::-1]
    assert await stub.kv_list({"limit": 3, "reverse": True}) == ["😀", "ﬃ", "é"]
    assert await stub.kv_list({"prefix": "p:", "reverse": True, "limit": 2}) == ["p:2", "p:10"]
    assert await stub.kv_list({"start": "B", "end": "a"}) == ["B", "Z", "_"]
    assert await stub.kv_list({"startAfter": "a", "limit": 3}) == ["a\0", "ab", "p:1"]


async def test_sync_kv(stub: Any) -> None:
    assert await stub.sync_kv() == [
        None,
        [1],
        [["a", [1]], ["b", {"n": 2}], ["c", "three"]],
        [["b", {"n": 2}]],
        [True, False],
        [["b", {"n": 2}], ["a", [1]]],
    ]
    assert await stub.kv_and_sync_kv_share_data() == [1, 2]


async def test_delete_all_drops_tables_and_kv(stub: Any) -> None:
    assert await stub.delete_all() == {
        "tables": [],
        "kv": {},
        "select_kv": "Error: no such table: _cf_KV: SQLITE_ERROR",
        "reuse": [],
    }


async def test_each_object_has_its_own_database(durable_ns: Any) -> None:
    first, second = durable_ns.getByName("one"), durable_ns.getByName("two")
    await first.rows("CREATE TABLE t (n INTEGER)")
    await first.rows("INSERT INTO t VALUES (1)")

    assert await second.rows("SELECT * FROM t") == "Error: no such table: t: SQLITE_ERROR"
    assert await durable_ns.getByName("one").raw("SELECT n FROM t") == [[1]]


# -- persistence ----------------------------------------------------------------------

PERSISTED = """
import pytest
from workers import DurableObject


class Notes(DurableObject):
    def add(self, text):
        sql = self.ctx.storage.sql
        sql.exec("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
        sql.exec("INSERT INTO notes VALUES (?)", text)


@pytest.mark.durable_object(cls=Notes, sqlite=True)
async def test_write(durable_ns):
    stub = durable_ns.getByName("book")
    await stub.add("first")
    await stub.add("second")
"""


def test_durable_sqlite_dir_keeps_the_database(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        textwrap.dedent(
            """
            [pytest]
            asyncio_mode = auto
            asyncio_default_fixture_loop_scope = function
            filterwarnings = error
            """
        )
    )
    pytester.makepyfile(test_persist=PERSISTED)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--durable-sqlite-dir", "dbs")

    result.assert_outcomes(passed=1)
    # The folder is the sanitized test id plus 8 hex digits of its hash.
    digest = hashlib.sha256(b"test_persist.py::test_write").hexdigest()[:8]
    folder = pytester.path / "dbs" / f"test_persist.py__test_write-{digest}"
    # The file is the binding, the object's name and its id's first 8 hex digits.
    [path] = folder.glob("Notes-book-*.sqlite")
    assert len(path.stem.rsplit("-", 1)[1]) == 8
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [("first",), ("second",)]
    db.close()


class FirstWriteRolledBack(DurableObject):
    async def first_kv_write_in_a_failed_transaction(self):
        async def closure(txn):
            await txn.put("k", 1)
            raise ValueError("nope")

        with contextlib.suppress(ValueError):
            await self.ctx.storage.transaction(closure)
        first = await self.ctx.storage.get("k")

        def sync_write():
            self.ctx.storage.kv.put("j", 2)
            raise ValueError("nope")

        with contextlib.suppress(ValueError):
            self.ctx.storage.transactionSync(sync_write)
        return [first, self.ctx.storage.kv.get("j"), dict(await self.ctx.storage.list())]


@pytest.mark.durable_object(cls=FirstWriteRolledBack, sqlite=True)
async def test_a_rolled_back_first_kv_write_leaves_kv_usable(durable_ns):
    # The rollback undoes the creation of _cf_KV too; reads find nothing, not an error.
    stub = durable_ns.getByName("x")
    assert await stub.first_kv_write_in_a_failed_transaction() == [None, None, {}]
