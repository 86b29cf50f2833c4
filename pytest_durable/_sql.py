"""SQLite-backed storage: ``ctx.storage.sql`` on a real SQLite engine.

Each SQLite-backed object has its own database (in memory, or a file when
persistence is asked for). Around the user's SQL the simulator reproduces
what workerd adds: its limits (``sqlite3_limit``), its authorizer (no
transaction statements, no ``_cf_`` names, allowlisted functions and
PRAGMAs), numbers bound as REAL, the error texts (SQLite's message, then the
result code's name), and the implicit transaction that commits the writes
made between two awaits together at the next turn of the event loop.

The KV API of a SQLite-backed object lives in the same database, in the
table ``_cf_KV``, so KV and SQL writes commit and roll back together.
"""

from __future__ import annotations

import asyncio
import functools
import pickle
import re
import secrets
import sqlite3
import weakref
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from . import _errors
from ._errors import JsException, NotModelled
from ._js import (
    NULL,
    UNDEFINED,
    HostObject,
    JsArray,
    JsArrayBuffer,
    JsBigInt,
    JsObject,
    JsUint8Array,
    to_js_string,
)

__all__ = ["MAX_ROW_SIZE", "SqlCursor", "SqlStorage", "SqliteStore"]

MAX_ROW_SIZE: Final = 4 * 1024 * 1024
"""``SQLITE_LIMIT_LENGTH`` in workerd since 2026-08-14 (2,200,000 before)."""

LIMITS: Final = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_ROW_SIZE,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_COLUMN: 100,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 100,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 5,
    sqlite3.SQLITE_LIMIT_VDBE_OP: 25_000,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 127,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 50,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 100,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 10,
}


# The SQL functions workerd allows (src/workerd/util/sqlite.c++).
ALLOWED_FUNCTIONS: Final = frozenset(
    [
        "abs",
        "changes",
        "char",
        "coalesce",
        "concat",
        "concat_ws",
        "format",
        "glob",
        "hex",
        "ifnull",
        "iif",
        "instr",
        "last_insert_rowid",
        "length",
        "like",
        "likelihood",
        "likely",
        "load_extension",
        "lower",
        "ltrim",
        "max_scalar",
        "min_scalar",
        "nullif",
        "octet_length",
        "printf",
        "quote",
        "random",
        "randomblob",
        "replace",
        "round",
        "rtrim",
        "sign",
        "soundex",
        "substr",
        "substring",
        "total_changes",
        "trim",
        "typeof",
        "unhex",
        "unicode",
        "unlikely",
        "upper",
        "zeroblob",
        "date",
        "time",
        "datetime",
        "julianday",
        "unixepoch",
        "strftime",
        "timediff",
        "current_date",
        "current_time",
        "current_timestamp",
        "avg",
        "count",
        "group_concat",
        "max",
        "min",
        "string_agg",
        "sum",
        "total",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "ceil",
        "cos",
        "cosh",
        "degrees",
        "exp",
        "floor",
        "ln",
        "log",
        "log2",
        "mod",
        "pi",
        "pow",
        "radians",
        "sin",
        "sinh",
        "sqrt",
        "tan",
        "tanh",
        "trunc",
        "json",
        "jsonb",
        "json_array",
        "jsonb_array",
        "json_array_length",
        "json_extract",
        "jsonb_extract",
        "->",
        "->>",
        "json_insert",
        "jsonb_insert",
        "json_object",
        "jsonb_object",
        "json_patch",
        "jsonb_patch",
        "json_remove",
        "jsonb_remove",
        "json_replace",
        "jsonb_replace",
        "json_set",
        "jsonb_set",
        "json_type",
        "json_valid",
        "json_quote",
        "json_group_array",
        "jsonb_group_array",
        "json_group_object",
        "jsonb_group_object",
        "json_each",
        "json_tree",
        "match",
        "highlight",
        "bm25",
        "snippet",
        "rtreecheck",
        "sqlite_rename_column",
        "sqlite_rename_table",
        "sqlite_rename_test",
        "sqlite_drop_column",
        "sqlite_rename_quotefix",
    ]
)

# PRAGMAs workerd allows, and what argument each takes.
_BOOLEAN_PRAGMAS: Final = frozenset(
    {
        "case_sensitive_like",
        "foreign_keys",
        "defer_foreign_keys",
        "ignore_check_constraints",
        "legacy_alter_table",
        "recursive_triggers",
        "reverse_unordered_selects",
    }
)
_OBJECT_PRAGMAS: Final = frozenset({"foreign_key_list", "index_info", "index_list", "index_xinfo"})
_BOOLEAN_WORDS: Final = ("true", "false", "yes", "no", "on", "off", "1", "0")

# The primary result codes by name. (Not every one-underscore SQLITE_ name in
# the sqlite3 module: the authorizer's action codes share their numbers, so
# SQLITE_UPDATE would stand for SQLITE_AUTH.)
_PRIMARY_NAMES: Final = {
    getattr(sqlite3, name): name
    for name in (
        "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM", "SQLITE_ABORT", "SQLITE_BUSY",
        "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_READONLY", "SQLITE_INTERRUPT", "SQLITE_IOERR",
        "SQLITE_CORRUPT", "SQLITE_NOTFOUND", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL",
        "SQLITE_EMPTY", "SQLITE_SCHEMA", "SQLITE_TOOBIG", "SQLITE_CONSTRAINT", "SQLITE_MISMATCH",
        "SQLITE_MISUSE", "SQLITE_NOLFS", "SQLITE_AUTH", "SQLITE_FORMAT", "SQLITE_RANGE",
        "SQLITE_NOTADB", "SQLITE_NOTICE", "SQLITE_WARNING",
    )
}


def _allowed_name(name: str | None) -> bool:
    return name is None or not name.lower().startswith("_cf_")


class SqliteStore:
    """The database of one SQLite-backed object; it outlives instances."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        # sqlite3 caches prepared statements by their text, and the authorizer
        # only runs when a statement is prepared: the simulator's own SQL
        # carries this comment so that user SQL of the same text ("BEGIN",
        # a query on _cf_KV) is never served from the trusted statement.
        self._trusted_tag = f" /* trusted {secrets.token_hex(8)} */"
        self._conn = self._connect()
        self._trusted = 0
        self._denied_transaction = False
        self._commit_scheduled = False
        self.savepoint_depth = 0
        self._kv_table = False
        self._cursors: weakref.WeakSet[SqlCursor] = weakref.WeakSet()

    def _connect(self) -> sqlite3.Connection:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self.path.unlink()
        conn = sqlite3.connect(
            str(self.path) if self.path else ":memory:",
            isolation_level=None,
            check_same_thread=False,
        )
        for category, limit in LIMITS.items():
            conn.setlimit(category, limit)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.set_authorizer(self._authorize)
        return conn

    # -- the authorizer (workerd's rules for untrusted SQL)

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        allowed = self._trusted > 0 or self._allows(action, arg1, arg2, db)
        return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY

    def _allows(self, action: int, arg1: str | None, arg2: str | None, db: str | None) -> bool:
        if action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT):
            self._denied_transaction = True
            return False
        if db == "temp":
            # Only reading and updating (there are no temporary tables to
            # read, as creating one is denied).
            return action in (sqlite3.SQLITE_READ, sqlite3.SQLITE_UPDATE) and _allowed_name(arg1)
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return False
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_ANALYZE, sqlite3.SQLITE_RECURSIVE):
            return True
        if action in (
            sqlite3.SQLITE_CREATE_TABLE,
            sqlite3.SQLITE_DELETE,
            sqlite3.SQLITE_DROP_TABLE,
            sqlite3.SQLITE_INSERT,
            sqlite3.SQLITE_CREATE_VIEW,
            sqlite3.SQLITE_DROP_VIEW,
            sqlite3.SQLITE_REINDEX,
            sqlite3.SQLITE_READ,
            sqlite3.SQLITE_UPDATE,
        ):
            return _allowed_name(arg1)
        if action == sqlite3.SQLITE_ALTER_TABLE:
            return _allowed_name(arg2)
        if action in (
            sqlite3.SQLITE_CREATE_INDEX,
            sqlite3.SQLITE_DROP_INDEX,
            sqlite3.SQLITE_CREATE_TRIGGER,
            sqlite3.SQLITE_DROP_TRIGGER,
        ):
            return _allowed_name(arg1) and _allowed_name(arg2)
        if action == sqlite3.SQLITE_FUNCTION:
            return arg2 in ALLOWED_FUNCTIONS
        if action == sqlite3.SQLITE_PRAGMA:
            return self._allows_pragma(arg1 or "", arg2)
        if action in (sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE):
            module = (arg2 or "").lower()
            return module in ("fts5", "fts5vocab", "rtree", "rtree_i32") and _allowed_name(arg1)
        return False

    @staticmethod
    def _allows_pragma(pragma: str, arg: str | None) -> bool:
        if pragma == "table_list":
            return True
        if pragma in ("table_info", "table_xinfo"):
            return arg is not None and _allowed_name(arg)
        if pragma in ("data_version", "page_size"):
            return arg is None
        if pragma in _BOOLEAN_PRAGMAS:
            if arg is None:
                return True
            value = arg.strip("'\"").lower()
            return any(value.startswith(word) for word in _BOOLEAN_WORDS)
        if pragma in _OBJECT_PRAGMAS:
            return arg is not None and _allowed_name(arg)
        if pragma == "foreign_key_check":
            return _allowed_name(arg)
        if pragma == "quick_check":
            return arg is None or arg.isdigit() or _allowed_name(arg)
        if pragma == "optimize":
            return arg is None or re.fullmatch(r"-?\d+", arg) is not None
        return False

    # -- running statements

    def run(
        self,
        sql: str,
        params: tuple[Any, ...] = (),
        *,
        trusted: bool = False,
        last: bool = True,
    ) -> sqlite3.Cursor:
        """Run one statement inside the implicit transaction (``last``:
        whether it is the last statement of the user's query)."""
        if not _PRAGMA_OUTSIDE_TRANSACTION.match(sql):
            self.begin_implicit()
        self._denied_transaction = False
        if trusted:
            self._trusted += 1
            sql += self._trusted_tag
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self.error(exc, last=last) from None
        finally:
            if trusted:
                self._trusted -= 1

    def error(self, exc: sqlite3.Error, *, last: bool = True) -> JsException:
        """A SQLite error as the runtime reports it."""
        if self._denied_transaction:
            return _errors.error(_errors.SQL_TRANSACTION_STATEMENT_ERROR)
        message = str(exc)
        if isinstance(exc, sqlite3.ProgrammingError) and "bindings" in message:
            text = _errors.SQL_WRONG_BINDINGS if last else _errors.SQL_MULTI_STATEMENT_BINDINGS
            return _errors.error(text)
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return _errors.error(message)
        primary = _PRIMARY_NAMES.get(code & 0xFF, f"SQLITE_UNKNOWN_ERROR_CODE({code & 0xFF})")
        text = f"{message}: {primary}"
        extended = getattr(exc, "sqlite_errorname", primary)
        if code != code & 0xFF and extended != primary:
            text += f" (extended: {extended})"
        return _errors.error(text)

    def begin_implicit(self) -> None:
        """Open the implicit transaction that commits at the next turn of
        the event loop (the writes between two awaits commit together)."""
        if self._conn.in_transaction:
            return
        self._trusted += 1
        try:
            self._conn.execute("BEGIN" + self._trusted_tag)
        finally:
            self._trusted -= 1
        self._schedule_commit()

    def _schedule_commit(self) -> None:
        if self._commit_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit()
            return
        self._commit_scheduled = True
        loop.call_soon(self._commit_soon)

    def _commit_soon(self) -> None:
        # While a transaction()'s savepoint is open this does nothing: the
        # release of the outermost savepoint schedules the commit again.
        # (Rescheduling here instead would keep the loop busy, and a fake
        # clock never advances while callbacks are ready.)
        self._commit_scheduled = False
        self.commit()

    def commit(self) -> None:
        if self._conn.in_transaction and self.savepoint_depth == 0:
            self._trusted += 1
            try:
                self._conn.execute("COMMIT" + self._trusted_tag)
            except sqlite3.OperationalError:
                # SQLite cannot commit while a write is still being stepped
                # (an INSERT ... RETURNING whose rows were not all read): read
                # what the open cursors have left, then commit.
                for cursor in list(self._cursors):
                    cursor.drain()
                self._conn.execute("COMMIT" + self._trusted_tag)
            finally:
                self._trusted -= 1

    def rollback_implicit(self) -> None:
        if self._conn.in_transaction:
            self._trusted += 1
            try:
                self._conn.execute("ROLLBACK" + self._trusted_tag)
            finally:
                self._trusted -= 1
        self.savepoint_depth = 0
        self._kv_table = False  # the rollback may have undone its creation

    def savepoint(self, name: str) -> None:
        self.run(f"SAVEPOINT {name}", trusted=True)
        self.savepoint_depth += 1

    def release(self, name: str, *, rollback: bool) -> None:
        self.savepoint_depth -= 1
        if rollback:
            self._kv_table = False  # the rollback may have undone its creation
            self.run(f"ROLLBACK TO {name}", trusted=True)
        self.run(f"RELEASE {name}", trusted=True)
        if self.savepoint_depth == 0:
            self._schedule_commit()

    @property
    def database_size(self) -> int:
        self._trusted += 1
        try:
            tag = self._trusted_tag
            pages = self._conn.execute("PRAGMA page_count" + tag).fetchone()[0]
            free = self._conn.execute("PRAGMA freelist_count" + tag).fetchone()[0]
            size = self._conn.execute("PRAGMA page_size" + tag).fetchone()[0]
        finally:
            self._trusted -= 1
        return int((pages - free) * size)

    def delete_all(self) -> None:
        """Drop everything: the user's tables and the KV data, atomically."""
        if self.savepoint_depth:
            # Inside transactionSync() (transaction() is refused before this).
            raise _errors.error(_errors.DELETE_ALL_IN_TRANSACTION)
        self.rollback_implicit()
        rows = self.run(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%'",
            trusted=True,
        ).fetchall()
        for kind, name in rows:
            quoted = '"' + name.replace('"', '""') + '"'
            self.run(
                f"DROP {'VIEW' if kind == 'view' else 'TABLE'} IF EXISTS {quoted}", trusted=True
            )
        self._kv_table = False
        self.commit()

    # -- the KV API on _cf_KV (the same interface as the KV backend's store)

    def _ensure_kv(self) -> bool:
        if not self._kv_table:
            exists = self.run(
                "SELECT 1 FROM sqlite_master WHERE name = '_cf_KV'", trusted=True
            ).fetchone()
            self._kv_table = exists is not None
        return self._kv_table

    def get(self, key: str) -> Any:
        if not self._ensure_kv():
            return UNDEFINED
        row = self.run("SELECT value FROM _cf_KV WHERE key = ?", (key,), trusted=True).fetchone()
        return UNDEFINED if row is None else pickle.loads(row[0])

    def put(self, key: str, stored: Any) -> Any:
        previous = self._stored(key)
        if not self._kv_table:
            self.run(
                "CREATE TABLE IF NOT EXISTS _cf_KV "
                "(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
                trusted=True,
            )
            self._kv_table = True
        if len(key.encode("utf-8", "surrogatepass")) + stored.size > MAX_ROW_SIZE:
            raise _errors.error("string or blob too big: SQLITE_TOOBIG")
        self.run(
            "INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?, ?)",
            (key, pickle.dumps(stored.value)),
            trusted=True,
        )
        return previous

    def _stored(self, key: str) -> Any:
        from ._storage import _Stored

        value = self.get(key)
        return None if value is UNDEFINED else _Stored(value, 0)

    def restore(self, key: str, stored: Any) -> None:
        if stored is None:
            self.delete(key)
        else:
            self.put(key, stored)

    def delete(self, key: str) -> Any:
        previous = self._stored(key)
        if previous is not None:
            self.run("DELETE FROM _cf_KV WHERE key = ?", (key,), trusted=True)
        return previous

    def clear(self) -> None:
        self.delete_all()

    def keys_in(self, start: str | None, end: str | None) -> Iterator[str]:
        if not self._ensure_kv():
            return iter(())
        clauses, params = [], []
        if start is not None:
            clauses.append("key >= ?")
            params.append(start)
        if end is not None:
            clauses.append("key < ?")
            params.append(end)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.run(f"SELECT key FROM _cf_KV{where} ORDER BY key", tuple(params), trusted=True)
        return (row[0] for row in rows.fetchall())

    def __len__(self) -> int:
        if not self._ensure_kv():
            return 0
        return int(self.run("SELECT count(*) FROM _cf_KV", trusted=True).fetchone()[0])

    def snapshot(self) -> dict[str, Any]:
        return {key: self.get(key) for key in self.keys_in(None, None)}

    def close(self) -> None:
        if self._conn.in_transaction and self.savepoint_depth == 0:
            self.commit()
        self._conn.close()

    # -- user SQL

    def execute(self, query: str, bindings: tuple[Any, ...]) -> SqlCursor:
        # SQLite measures the whole query when it prepares its first statement.
        if len(query.encode("utf-8", "surrogatepass")) > LIMITS[sqlite3.SQLITE_LIMIT_SQL_LENGTH]:
            raise _errors.error(_errors.SQL_STATEMENT_TOO_LONG)
        statements, complete = split_statements(query)
        # As workerd does, every statement but the last runs as it is reached;
        # text after the last one that holds no statement fails only then.
        before = statements[:-1] if complete else statements
        for statement in before:
            self.run(statement, last=False).fetchall()
        if not complete:
            raise _errors.error(_errors.SQL_NO_STATEMENT)
        last = statements[-1]
        params = tuple(_bind(value) for value in bindings)
        return SqlCursor(self, self.run(last, params))


@functools.lru_cache(maxsize=256)
def split_statements(query: str) -> tuple[tuple[str, ...], bool]:
    """Split SQL into statements as SQLite prepares them one after the other:
    empty statements and comments before a statement belong to it. Returns
    the statements and whether the query ends with one (``False`` when it
    holds none, or when text after the last one holds none)."""
    if ";" not in query:
        return ((query,), True) if _has_statement(query) else ((), False)
    statements: list[str] = []
    current = ""
    for char in query:
        current += char
        if char == ";" and sqlite3.complete_statement(current) and _has_statement(current):
            statements.append(current)
            current = ""
    if current.strip(_WHITESPACE):
        if not _has_statement(current):
            return tuple(statements), False
        statements.append(current)
    return tuple(statements), bool(statements)


_COMMENTS: Final = re.compile(r"--[^\n]*|/\*.*?(\*/|$)", re.DOTALL)
_WHITESPACE: Final = " \t\n\r\v\f"
# A PRAGMA reads or sets the connection's state and writes nothing (except
# optimize, which runs ANALYZE), so, as in workerd, it does not open the
# implicit transaction: `PRAGMA foreign_keys = OFF` at the start of an event
# takes effect.
_PRAGMA_OUTSIDE_TRANSACTION: Final = re.compile(
    r"(?:\s|--[^\n]*\n|/\*.*?\*/|;)*PRAGMA\s+(?!(?:main\s*\.\s*)?optimize\b)",
    re.IGNORECASE | re.DOTALL,
)


def _has_statement(text: str) -> bool:
    return bool(_COMMENTS.sub(" ", text).strip(" \t\r\n;"))


def _bind(value: Any) -> Any:
    """A JavaScript binding as workerd binds it: numbers as REAL, strings,
    byte arrays as BLOB, null as NULL, anything else converted to a string."""
    if value is NULL or value is UNDEFINED:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, (JsUint8Array, JsArrayBuffer)):
        return bytes(value.data)
    if isinstance(value, JsBigInt):
        raise _errors.type_error("Cannot convert a BigInt value to a number")
    return to_js_string(value)


def _result(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, int):
        return float(value)
    if isinstance(value, bytes):
        return JsArrayBuffer(value)
    return value


class SqlStorage(HostObject):
    """``ctx.storage.sql``."""

    js_class = "SqlStorage"
    js_members = frozenset({"exec", "databaseSize", "prepare", "ingest"})

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def exec(self, query: Any, *bindings: Any) -> SqlCursor:
        return self._store.execute(to_js_string(query), bindings)

    @property
    def databaseSize(self) -> float:
        return float(self._store.database_size)

    def prepare(self, query: Any) -> Any:
        raise NotModelled("sql.prepare() is not modelled by pytest-durable; use sql.exec()")

    def ingest(self, query: Any) -> Any:
        raise NotModelled("sql.ingest() is not modelled by pytest-durable; use sql.exec()")


class SqlCursor(HostObject):
    """The cursor ``sql.exec`` returns: rows are read lazily."""

    js_class = "Cursor"
    js_members = frozenset(
        {"toArray", "one", "raw", "next", "columnNames", "rowsRead", "rowsWritten"}
    )

    def __init__(self, store: SqliteStore, cursor: sqlite3.Cursor) -> None:
        self._store = store
        self._cursor = cursor
        self.columnNames = JsArray(d[0] for d in cursor.description or ())
        self._read = 0
        self._done = cursor.description is None
        # A statement's rows once the store had to read them ahead (drain).
        self._ahead: deque[tuple[Any, ...]] | None = None
        self._ahead_error: JsException | None = None
        self._written = max(cursor.rowcount, 0)
        if not self._done:
            store._cursors.add(self)

    @property
    def rowsRead(self) -> float:
        return float(self._read)

    @property
    def rowsWritten(self) -> float:
        return float(self._written)

    def _next_row(self) -> tuple[Any, ...] | None:
        if self._ahead is not None:
            row = self._ahead.popleft() if self._ahead else None
            if row is None and self._ahead_error is not None:
                error, self._ahead_error = self._ahead_error, None
                raise error
        else:
            row = self._fetch()
        if row is None:
            return None
        self._read += 1
        return row

    def _fetch(self) -> tuple[Any, ...] | None:
        if self._done:
            return None
        try:
            row = self._cursor.fetchone()
        except sqlite3.Error as exc:
            self._done = True
            raise self._store.error(exc) from None
        if row is None:
            self._done = True
            # An INSERT ... RETURNING has written its rows once it is done.
            self._written = max(self._cursor.rowcount, 0)
            self._store._cursors.discard(self)
            return None
        return tuple(row)

    def drain(self) -> None:
        """Read the rest of the rows ahead, so the statement is finished."""
        if self._ahead is not None:
            return
        self._ahead = deque()
        try:
            while (row := self._fetch()) is not None:
                self._ahead.append(row)
        except JsException as exc:
            self._ahead_error = exc

    def _as_object(self, row: tuple[Any, ...]) -> JsObject:
        return JsObject(
            {name: _result(value) for name, value in zip(self.columnNames.items, row, strict=False)}
        )

    def js_iter(self) -> Iterator[JsObject]:
        while (row := self._next_row()) is not None:
            yield self._as_object(row)

    def next(self) -> JsObject:
        row = self._next_row()
        if row is None:
            return JsObject({"done": True, "value": UNDEFINED})
        return JsObject({"done": False, "value": self._as_object(row)})

    def toArray(self) -> JsArray:
        return JsArray(self.js_iter())

    def one(self) -> JsObject:
        first = self._next_row()
        if first is None:
            raise _errors.error(_errors.SQL_ONE_NO_RESULTS)
        if self._next_row() is not None:
            raise _errors.error(_errors.SQL_ONE_MANY_RESULTS)
        return self._as_object(first)

    def raw(self) -> SqlRawIterator:
        return SqlRawIterator(self)


class SqlRawIterator(HostObject):
    """``cursor.raw()``: rows as lists, over the cursor's own stream."""

    js_class = "RawIterator"
    js_members = frozenset({"next", "toArray"})

    def __init__(self, cursor: SqlCursor) -> None:
        self._cursor = cursor

    def js_iter(self) -> Iterator[JsArray]:
        while (row := self._cursor._next_row()) is not None:
            yield JsArray(_result(v) for v in row)

    def next(self) -> JsObject:
        row = self._cursor._next_row()
        if row is None:
            return JsObject({"done": True, "value": UNDEFINED})
        return JsObject({"done": False, "value": JsArray(_result(v) for v in row)})

    def toArray(self) -> JsArray:
        return JsArray(self.js_iter())


class SyncKv(HostObject):
    """``ctx.storage.kv``: the synchronous KV API of SQLite-backed objects."""

    js_class = "SyncKvStorage"
    js_members = frozenset({"get", "put", "delete", "list"})

    def __init__(self, store: SqliteStore, storage: Any) -> None:
        self._store = store
        self._storage = storage

    def get(self, key: Any) -> Any:
        return self._store.get(to_js_string(key))

    def put(self, key: Any, value: Any) -> Any:
        self._storage._put(key, value, self._store.put)
        return UNDEFINED

    def delete(self, key: Any) -> bool:
        return self._store.delete(to_js_string(key)) is not None

    def list(self, options: Any = UNDEFINED) -> JsArray:
        keys = self._storage._list_keys(options)
        return JsArray(JsArray([k, self._store.get(k)]) for k in keys)
