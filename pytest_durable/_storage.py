"""``ctx.storage`` of a KV-backed Durable Object, as the runtime implements it.

Values are kept as structured clones with their serialized sizes, keys in
UTF-8 byte order (which is Python's code-point order). Every operation takes
effect when it is called, so a ``put`` that is never awaited still commits,
and resolves at once: the simulated storage never suspends, which is how the
input gate looks from inside the object (no other event can run while a
storage call is pending).
"""

from __future__ import annotations

import bisect
import builtins
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from . import _errors
from ._errors import JsException, NotModelled
from ._js import (
    NULL,
    UNDEFINED,
    HostObject,
    JsArray,
    JsMap,
    JsObject,
    serialized_size,
    structured_clone,
    to_js_string,
)
from ._pyodide import JsPromise, to_js_implicit
from ._sql import SqliteStore, SqlStorage, SyncKv

if TYPE_CHECKING:
    from ._objects import ObjectHost

__all__ = ["DurableObjectStorage", "KvStore"]

MAX_KEY_SIZE: Final = 2048
"""KV backend: bytes of UTF-8 in one key."""
MAX_VALUE_SIZE: Final = 128 * 1024
"""KV backend: the limit the error message names."""
ENFORCED_MAX_VALUE_SIZE: Final = MAX_VALUE_SIZE + 34
"""KV backend: what is enforced; the 34 bytes cover the serializer's headers."""
MAX_KEYS: Final = 128
"""KV backend: keys in one ``get([...])``."""


class _Stored:
    __slots__ = ("size", "value")

    def __init__(self, value: Any, size: int) -> None:
        self.value = value
        self.size = size


class KvStore:
    """The durable data of one object: sorted keys and cloned values.

    It outlives the object's instance (hibernation, eviction, reset).
    """

    def __init__(self) -> None:
        self._data: dict[str, _Stored] = {}
        self._keys: list[str] = []

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> Any:
        stored = self._data.get(key)
        return UNDEFINED if stored is None else structured_clone(stored.value)

    def put(self, key: str, stored: _Stored) -> _Stored | None:
        previous = self._data.get(key)
        if previous is None:
            bisect.insort(self._keys, key)
        self._data[key] = stored
        return previous

    def restore(self, key: str, stored: _Stored | None) -> None:
        if stored is None:
            self.delete(key)
        else:
            self.put(key, stored)

    def delete(self, key: str) -> _Stored | None:
        previous = self._data.pop(key, None)
        if previous is not None:
            del self._keys[bisect.bisect_left(self._keys, key)]
        return previous

    def clear(self) -> None:
        self._data.clear()
        self._keys.clear()

    def keys_in(self, start: str | None, end: str | None) -> Iterator[str]:
        lo = 0 if start is None else bisect.bisect_left(self._keys, start)
        hi = len(self._keys) if end is None else bisect.bisect_left(self._keys, end)
        return iter(self._keys[lo:hi])

    def snapshot(self) -> dict[str, Any]:
        """Every key and its value as stored (for inspection from tests)."""
        return {k: structured_clone(self._data[k].value) for k in self._keys}


class DurableObjectStorage(HostObject):
    """``DurableObjectStorage``: the KV API over a ``KvStore``."""

    js_class = "DurableObjectStorage"
    js_members = frozenset(
        {
            "get", "put", "delete", "list", "deleteAll", "transaction", "transactionSync",
            "sync", "getAlarm", "setAlarm", "deleteAlarm", "sql", "kv",
            "getCurrentBookmark", "getBookmarkForTime", "onNextSessionRestoreBookmark",
        }
    )

    def __init__(self, store: KvStore | SqliteStore, host: ObjectHost) -> None:
        self._store = store
        self._host = host
        self._sqlite = isinstance(store, SqliteStore)

    # -- reads

    def get(self, keys: Any, options: Any = UNDEFINED) -> JsPromise:
        return _settle(lambda: self._get(keys))

    def _get(self, keys: Any) -> Any:
        if isinstance(keys, JsArray):
            # workerd checks the 128-key limit on the KV backend only.
            if not self._sqlite and len(keys.items) > MAX_KEYS:
                raise _errors.range_error(
                    _errors.TOO_MANY_KEYS.format(limit=MAX_KEYS, count=len(keys.items))
                )
            names = sorted({_key(k, self._sqlite) for k in keys.items})
            found = ((k, self._store.get(k)) for k in names)
            return JsMap((k, v) for k, v in found if v is not UNDEFINED)
        return self._store.get(_key(keys, self._sqlite))

    def list(self, options: Any = UNDEFINED) -> JsPromise:
        return _settle(lambda: JsMap((k, self._store.get(k)) for k in self._list_keys(options)))

    # ``builtins.list``: inside this class, ``list`` names the storage method.
    def _list_keys(self, options: Any) -> builtins.list[str]:
        opts = _options(options)
        start = opts.get("start")
        start_after = opts.get("startAfter")
        if start is not None and start_after is not None:
            raise _errors.type_error(_errors.LIST_START_AND_START_AFTER)
        if start_after is not None:
            start = to_js_string(start_after) + "\0"
        elif start is not None:
            start = to_js_string(start)
        end = None if opts.get("end") is None else to_js_string(opts["end"])
        prefix = "" if opts.get("prefix") is None else to_js_string(opts["prefix"])
        limit = opts.get("limit")
        if limit is not None and float(limit) <= 0:
            raise _errors.type_error(_errors.LIST_LIMIT_NOT_POSITIVE)
        if prefix and (start is None or start < prefix):
            start = prefix
        keys = [k for k in self._store.keys_in(start, end) if k.startswith(prefix)]
        if opts.get("reverse"):
            keys.reverse()
        return keys if limit is None else keys[: int(limit)]

    # -- writes

    def put(
        self, key_or_entries: Any, value: Any = UNDEFINED, options: Any = UNDEFINED
    ) -> JsPromise:
        return _settle(lambda: self._put(key_or_entries, value, self._store.put))

    def _put(self, key_or_entries: Any, value: Any, write: Callable[[str, _Stored], Any]) -> Any:
        if isinstance(key_or_entries, JsObject):
            if value is not UNDEFINED and not isinstance(value, JsObject):
                raise _errors.type_error(_errors.PUT_BAD_SIGNATURE)
            entries = [(k, v) for k, v in key_or_entries.props.items() if v is not UNDEFINED]
            prepared = [(_key(k, self._sqlite), _prepare(v, self._sqlite)) for k, v in entries]
        else:
            if value is UNDEFINED:
                raise _errors.type_error(_errors.PUT_UNDEFINED)
            prepared = [(_key(key_or_entries, self._sqlite), _prepare(value, self._sqlite))]
        for key, stored in prepared:
            write(key, stored)
        return UNDEFINED

    def delete(self, keys: Any, options: Any = UNDEFINED) -> JsPromise:
        return _settle(lambda: self._delete(keys, self._store.delete))

    def _delete(self, keys: Any, remove: Callable[[str], Any]) -> Any:
        if isinstance(keys, JsArray):
            names = [_key(k, self._sqlite) for k in keys.items]
            return float(sum(remove(k) is not None for k in dict.fromkeys(names)))
        return remove(_key(keys, self._sqlite)) is not None

    def deleteAll(self, options: Any = UNDEFINED) -> JsPromise:
        def delete_all() -> Any:
            if self._host.in_transaction:
                raise _errors.error(_errors.DELETE_ALL_IN_TRANSACTION)
            self._store.clear()
            self._host.on_delete_all()
            return UNDEFINED

        return _settle(delete_all)

    def sync(self) -> JsPromise:
        return JsPromise.resolve()

    # -- transactions

    def transaction(self, closure: Any) -> JsPromise:
        return self._host.run_transaction(self, closure)

    def transactionSync(self, fn: Any) -> Any:
        store = self._store
        if not isinstance(store, SqliteStore):
            raise _errors.error(_errors.NOT_BACKED_BY_SQL)
        name = f"_cf_sync_savepoint_{store.savepoint_depth}"
        alarms = self._host._alarms()
        alarm_before = alarms.snapshot(self._host)
        store.savepoint(name)
        try:
            result = _call_sync(fn)
        except BaseException:
            store.release(name, rollback=True)
            alarms.restore(self._host, alarm_before)
            raise
        store.release(name, rollback=False)
        return to_js_implicit(result)

    # -- alarms

    def getAlarm(self, options: Any = UNDEFINED) -> JsPromise:
        return _settle(self._host.get_alarm)

    def setAlarm(self, scheduled_time: Any, options: Any = UNDEFINED) -> JsPromise:
        return _settle(lambda: self._host.set_alarm(scheduled_time))

    def deleteAlarm(self, options: Any = UNDEFINED) -> JsPromise:
        return _settle(self._host.delete_alarm)

    # -- members of SQLite-backed objects only

    @property
    def sql(self) -> Any:
        if not isinstance(self._store, SqliteStore):
            raise _errors.error(_errors.SQL_NOT_AVAILABLE)
        return SqlStorage(self._store)

    @property
    def kv(self) -> Any:
        if not isinstance(self._store, SqliteStore):
            raise _errors.error(_errors.SYNC_KV_NOT_AVAILABLE)
        return SyncKv(self._store, self)

    def getCurrentBookmark(self) -> Any:
        raise _no_recovery("getCurrentBookmark")

    def getBookmarkForTime(self, time: Any) -> Any:
        raise _no_recovery("getBookmarkForTime")

    def onNextSessionRestoreBookmark(self, bookmark: Any) -> Any:
        raise _no_recovery("onNextSessionRestoreBookmark")


class DurableObjectTransaction(HostObject):
    """The ``txn`` of ``storage.transaction()``: its writes are undone on
    rollback or when the closure raises."""

    js_class = "DurableObjectTransaction"
    js_members = frozenset(
        {"get", "put", "delete", "list", "rollback", "deleteAll", "getAlarm", "setAlarm",
         "deleteAlarm"}
    )

    def __init__(self, storage: DurableObjectStorage, savepoint: str | None = None) -> None:
        self._storage = storage
        self._undo: list[tuple[str, _Stored | None]] = []
        self._alarm_before: Any = None
        self.savepoint = savepoint
        self.state = "open"

    def _check(self, op: str) -> None:
        if self.state == "rolled_back":
            raise _errors.error(_errors.TXN_ROLLED_BACK.format(op=op))
        if self.state == "committed":
            raise _errors.error(_errors.TXN_ALREADY_COMMITTED.format(op=op))

    def _write(self, key: str, stored: _Stored) -> None:
        self._undo.append((key, self._storage._store.put(key, stored)))

    def _remove(self, key: str) -> _Stored | None:
        previous = self._storage._store.delete(key)
        self._undo.append((key, previous))
        return previous

    def _checked(self, op: str, operation: Callable[[], Any]) -> JsPromise:
        def run() -> Any:
            self._check(op)
            return operation()

        return _settle(run)

    def get(self, keys: Any, options: Any = UNDEFINED) -> JsPromise:
        return self._checked("get", lambda: self._storage._get(keys))

    def list(self, options: Any = UNDEFINED) -> JsPromise:
        store = self._storage._store
        return self._checked(
            "list",
            lambda: JsMap((k, store.get(k)) for k in self._storage._list_keys(options)),
        )

    def put(
        self, key_or_entries: Any, value: Any = UNDEFINED, options: Any = UNDEFINED
    ) -> JsPromise:
        return self._checked(
            "put", lambda: self._storage._put(key_or_entries, value, self._write)
        )

    def delete(self, keys: Any, options: Any = UNDEFINED) -> JsPromise:
        return self._checked("delete", lambda: self._storage._delete(keys, self._remove))

    def deleteAll(self, options: Any = UNDEFINED) -> JsPromise:
        return JsPromise.reject(_errors.error(_errors.DELETE_ALL_IN_TRANSACTION))

    def rollback(self) -> Any:
        if self.state == "committed":
            raise _errors.error(_errors.TXN_ALREADY_COMMITTED.format(op="rollback"))
        if self.state == "open":
            self.undo()
            self.state = "rolled_back"
        return UNDEFINED

    def undo(self) -> None:
        """Roll back what the transaction wrote: KV writes, SQL and the alarm."""
        store = self._storage._store
        if self.savepoint is not None and isinstance(store, SqliteStore):
            store.release(self.savepoint, rollback=True)
            self.savepoint = None
        else:
            for key, previous in reversed(self._undo):
                store.restore(key, previous)
        self._undo.clear()
        if self._alarm_before is not None:
            host = self._storage._host
            host._alarms().restore(host, self._alarm_before)
            self._alarm_before = None

    def commit(self) -> None:
        store = self._storage._store
        if self.savepoint is not None and isinstance(store, SqliteStore):
            store.release(self.savepoint, rollback=False)
            self.savepoint = None
        self.state = "committed"

    def remember_alarm(self) -> None:
        if self._alarm_before is None:
            host = self._storage._host
            self._alarm_before = host._alarms().snapshot(host)

    def getAlarm(self, options: Any = UNDEFINED) -> JsPromise:
        return self._checked("getAlarm", self._storage._host.get_alarm)

    def setAlarm(self, scheduled_time: Any, options: Any = UNDEFINED) -> JsPromise:
        def set_alarm() -> Any:
            self.remember_alarm()
            return self._storage._host.set_alarm(scheduled_time)

        return self._checked("setAlarm", set_alarm)

    def deleteAlarm(self, options: Any = UNDEFINED) -> JsPromise:
        def delete_alarm() -> Any:
            self.remember_alarm()
            return self._storage._host.delete_alarm()

        return self._checked("deleteAlarm", delete_alarm)


# -- helpers ---------------------------------------------------------------------


def _settle(operation: Callable[[], Any]) -> JsPromise:
    try:
        return JsPromise.resolve(operation())
    except JsException as exc:
        return JsPromise.reject(exc)


def _options(options: Any) -> dict[str, Any]:
    if options is UNDEFINED or options is NULL:
        return {}
    if isinstance(options, JsObject):
        return {k: v for k, v in options.props.items() if v is not UNDEFINED and v is not NULL}
    if isinstance(options, JsMap):
        return {str(k): v for k, v in options.entries.items()}
    raise _errors.not_of_type("list", "DurableObjectStorage", 1, "ListOptions")


def _no_recovery(member: str) -> NotModelled:
    return NotModelled(f"point-in-time recovery ({member}) is not modelled by pytest-durable")


def _call_sync(fn: Any) -> Any:
    """Call the callback of ``transactionSync``; it must not be async."""
    from ._js import JsFunction, PyProxy

    if isinstance(fn, PyProxy) and callable(fn.obj):
        return fn.obj()
    if isinstance(fn, JsFunction):
        return fn.fn()
    raise _errors.not_of_type("transactionSync", "DurableObjectStorage", 1, "Function")


def _key(key: Any, sqlite: bool = False) -> str:
    """The key as the runtime stores it; the KV backend limits its size
    (the SQLite backend limits the row instead)."""
    text = to_js_string(key)
    size = len(text.encode("utf-8", "surrogatepass"))
    if not sqlite and size > MAX_KEY_SIZE:
        raise _errors.range_error(_errors.KEY_TOO_LARGE.format(limit=MAX_KEY_SIZE, size=size))
    return text


def _prepare(value: Any, sqlite: bool = False) -> _Stored:
    clone = structured_clone(value)
    size = serialized_size(clone)
    if not sqlite and size > ENFORCED_MAX_VALUE_SIZE:
        raise _errors.range_error(_errors.VALUE_TOO_LARGE.format(limit=MAX_VALUE_SIZE, size=size))
    return _Stored(clone, size)
