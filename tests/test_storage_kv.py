"""The key-value storage API of a KV-backed object (reference §3), exact values
and exact error texts, observed from inside the object.

Expected values marked ``oracle`` were recorded from workerd's in-memory
(KV-backed) storage; the others come from the reference.
"""

from __future__ import annotations

from typing import Any

import pytest
from workers import DurableObject, JsDict

from pytest_durable import JsException

# oracle: inmem_list.json all (the order workerd lists these keys in)
ORACLE_KEY_ORDER = [
    "10", "9", "A", "B", "Z", "_", "a", "a\0", "ab", "p:1", "p:10", "p:2", "q:1", "é", "ﬃ", "😀",
]
# oracle: inmem_list.json inserted (then the p: and q: keys)
ORACLE_INSERTION_ORDER = [
    "a", "B", "é", "10", "9", "Z", "_", "ab", "a\0", "😀", "ﬃ", "A", "p:1", "p:10", "p:2", "q:1",
]


class KvObject(DurableObject):
    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.events: list[str] = []

    async def call(self, op: str, *args: Any) -> Any:
        """Run one storage operation; return its result or the error it raised."""
        try:
            return {"result": await getattr(self.ctx.storage, op)(*args)}
        except JsException as exc:
            return {"error": str(exc)}

    async def call_raw(self, op: str, *args: Any) -> Any:
        """Run one storage operation and let its error escape to the caller."""
        return await getattr(self.ctx.storage, op)(*args)

    async def error_parts(self, key: str) -> Any:
        try:
            await self.ctx.storage.get(key)
        except JsException as exc:
            return [type(exc).__name__, exc.name, exc.message]
        return None

    async def put_without_value(self) -> str:
        try:
            await self.ctx.storage.put("key")
        except JsException as exc:
            return str(exc)
        return "stored"

    async def put_string(self, length: int) -> Any:
        return await self.call("put", "big", "a" * length)

    async def put_bytes(self, length: int) -> Any:
        return await self.call("put", "big", b"\x01" * length)

    async def put_many(self, count: int) -> Any:
        return await self.call("put", {f"key{i:03}": i for i in range(count)})

    async def get_many(self, count: int) -> Any:
        return await self.call("get", [f"key{i:03}" for i in range(count)])

    async def delete_many(self, count: int) -> Any:
        return await self.call("delete", [f"key{i:03}" for i in range(count)])

    async def list_keys(self, options: Any = None) -> Any:
        # The caller's keyword arguments arrive as one dict (reference §1.3);
        # they go on to list() as keyword options.
        try:
            return list(await self.ctx.storage.list(**(options or {})))
        except JsException as exc:
            return str(exc)

    async def list_keys_with_dict(self, options: Any) -> Any:
        # The same options as one dict argument.
        try:
            return list(await self.ctx.storage.list(options))
        except JsException as exc:
            return str(exc)

    async def options_as_keywords(self) -> Any:
        storage = self.ctx.storage
        return [
            await storage.put("k", "v", allowUnconfirmed=True, noCache=True),
            await storage.get("k", allowConcurrency=True, noCache=True),
            await storage.list(prefix="k", allowConcurrency=True),
            await storage.delete("k", allowUnconfirmed=True),
        ]

    async def put_without_await(self, key: str, value: Any) -> None:
        self.ctx.storage.put(key, value)

    async def put_without_await_then_get(self, key: str, value: Any) -> Any:
        self.ctx.storage.put(key, value)
        return await self.ctx.storage.get(key)

    async def delete_all_then_list(self) -> Any:
        result = await self.ctx.storage.deleteAll()
        return [result, await self.ctx.storage.list()]

    async def sync(self) -> Any:
        return await self.ctx.storage.sync()

    async def transfer(self, amount: int, options: Any = None) -> Any:
        fail = bool(options and options.get("fail"))

        async def closure(txn: Any) -> str:
            self.events.append("transfer")
            balance = await txn.get("balance")
            await txn.put("balance", balance - amount)
            await txn.put("log", f"moved {amount}")
            if fail:
                raise ValueError("insufficient funds")
            return "committed"

        return await self.ctx.storage.transaction(closure)

    async def transfer_catching(self, amount: int) -> str:
        try:
            await self.transfer(amount, {"fail": True})
        except ValueError as exc:
            return f"ValueError: {exc}"
        return "no error"

    async def transaction_rolled_back(self) -> Any:
        async def closure(txn: Any) -> str:
            await txn.put("balance", 0)
            await txn.delete("log")
            txn.rollback()
            txn.rollback()  # allowed more than once
            return "rolledback"

        return await self.ctx.storage.transaction(closure)

    async def transaction_use_after_rollback(self) -> Any:
        async def closure(txn: Any) -> list[str]:
            txn.rollback()
            errors = []
            for op, args in [("get", ["k"]), ("put", ["k", "v"]), ("delete", ["k"]),
                             ("list", [])]:
                try:
                    await getattr(txn, op)(*args)
                except JsException as exc:
                    errors.append(str(exc))
            return errors

        return await self.ctx.storage.transaction(closure)

    async def transaction_use_after_commit(self) -> Any:
        saved = []

        async def closure(txn: Any) -> None:
            await txn.put("k", "v")
            saved.append(txn)

        await self.ctx.storage.transaction(closure)
        errors = []
        for op, args in [("get", ["k"]), ("put", ["k", "w"]), ("delete", ["k"])]:
            try:
                await getattr(saved[0], op)(*args)
            except JsException as exc:
                errors.append(str(exc))
        return [errors, await self.ctx.storage.get("k")]

    async def delete_all_in_transaction(self) -> Any:
        async def closure(txn: Any) -> list[str]:
            await txn.put("k", "v")
            errors = []
            for delete_all in (self.ctx.storage.deleteAll, txn.deleteAll):
                try:
                    await delete_all()
                except JsException as exc:
                    errors.append(str(exc))
            return errors

        return [await self.ctx.storage.transaction(closure), await self.ctx.storage.get("k")]

    async def transaction_sync(self) -> str:
        try:
            self.ctx.storage.transactionSync(lambda: "sync-ok")
        except JsException as exc:
            return str(exc)
        return "no error"

    async def sql_error(self) -> Any:
        try:
            _ = self.ctx.storage.sql
        except JsException as exc:
            return [exc.name, exc.message]
        return None

    async def seen_events(self) -> list[str]:
        return self.events


pytestmark = pytest.mark.durable_object(cls=KvObject)


@pytest.fixture
def stub(durable_ns: Any) -> Any:
    return durable_ns.getByName("kv")


# -- get, put, delete ---------------------------------------------------------------


async def test_get_of_a_missing_key_is_none(stub: Any) -> None:
    assert await stub.call("get", "missing") == {"result": None}


async def test_put_then_get(stub: Any) -> None:
    assert await stub.call("put", "k", "v") == {"result": None}
    assert await stub.call("get", "k") == {"result": "v"}
    assert await stub.call("put", "k", {"n": 1}) == {"result": None}

    result = (await stub.call("get", "k"))["result"]

    assert type(result) is JsDict
    assert result == {"n": 1}


async def test_put_none_stores_null(stub: Any) -> None:
    assert await stub.call("put", "k", None) == {"result": None}

    assert await stub.call("get", "k") == {"result": None}
    # Stored, not skipped: the key lists.
    assert await stub.call("list") == {"result": {"k": None}}


async def test_put_without_a_value(stub: Any) -> None:
    # oracle: inmem_errors.json value_undefined
    assert await stub.put_without_value() == "TypeError: put() called with undefined value."


async def test_get_many_returns_found_keys_in_key_order(stub: Any) -> None:
    await stub.call("put", {"b": 2, "a": 1, "c": 3})

    result = (await stub.call("get", ["c", "missing", "a"]))["result"]

    assert type(result) is JsDict
    assert list(result.items()) == [("a", 1), ("c", 3)]
    assert await stub.call("get", []) == {"result": {}}


async def test_put_many_then_get_each(stub: Any) -> None:
    assert await stub.call("put", {"x": "1", "y": [2]}) == {"result": None}

    assert await stub.call("get", "x") == {"result": "1"}
    assert await stub.call("get", "y") == {"result": [2]}


async def test_put_many_with_a_second_argument_that_is_not_options(stub: Any) -> None:
    assert await stub.call("put", {"x": 1}, 5) == {
        "error": "TypeError: put() may only be called with a single key-value pair and "
        "optional options as put(key, value, options) or with multiple key-value pairs "
        "and optional options as put(entries, options)"
    }


async def test_get_of_128_keys_is_accepted(stub: Any) -> None:
    await stub.put_many(128)

    result = await stub.get_many(128)

    assert len(result["result"]) == 128
    assert result["result"]["key127"] == 127


async def test_get_of_129_keys_is_refused(stub: Any) -> None:
    # oracle: inmem_errors.json get_129_keys
    assert await stub.get_many(129) == {
        "error": "RangeError: Maximum number of key value pairs is 128. 129 pairs were provided."
    }


async def test_put_and_delete_of_129_keys_are_accepted(stub: Any) -> None:
    # oracle: inmem_errors.json put_multi_129_keys
    assert await stub.put_many(129) == {"result": None}
    # oracle: inmem_errors.json delete_129_keys
    assert await stub.delete_many(129) == {"result": 129}
    assert await stub.call("list") == {"result": {}}


async def test_delete_returns_whether_the_key_existed(stub: Any) -> None:
    await stub.call("put", "k", "v")

    assert await stub.call("delete", "k") == {"result": True}
    assert await stub.call("delete", "k") == {"result": False}
    assert await stub.call("get", "k") == {"result": None}


async def test_delete_many_returns_the_count_deleted(stub: Any) -> None:
    await stub.call("put", {"a": 1, "b": 2, "c": 3})

    result = await stub.call("delete", ["a", "c", "missing"])

    assert result == {"result": 2}
    assert type(result["result"]) is int
    assert await stub.call("list") == {"result": {"b": 2}}


async def test_options_are_accepted_as_keywords(stub: Any) -> None:
    # allowConcurrency, allowUnconfirmed and noCache change nothing a single
    # call returns (reference §3.10).
    assert await stub.options_as_keywords() == [None, "v", {"k": "v"}, True]


# -- key and value size limits (KV backend) -------------------------------------------


async def test_key_of_2048_bytes_is_accepted(stub: Any) -> None:
    # oracle: inmem_errors.json key_2048_bytes
    assert await stub.call("put", "k" * 2048, 1) == {"result": None}
    assert await stub.call("get", "k" * 2048) == {"result": 1}


@pytest.mark.parametrize("op", ["put", "get", "delete"])
async def test_key_of_2049_bytes_is_refused(stub: Any, op: str) -> None:
    args = ["k" * 2049, 1] if op == "put" else ["k" * 2049]

    # oracle: inmem_errors.json key_2049_bytes (put), key_2049_bytes_get
    assert await stub.call(op, *args) == {
        "error": "RangeError: Keys cannot be larger than 2048 bytes. A key of size 2049 was "
        "provided."
    }


async def test_key_size_counts_utf8_bytes(stub: Any) -> None:
    # oracle: inmem_errors.json key_1025_x_2byte_chars
    assert await stub.call("put", "é" * 1025, 1) == {
        "error": "RangeError: Keys cannot be larger than 2048 bytes. A key of size 2050 was "
        "provided."
    }
    assert await stub.call("put", "é" * 1024, 1) == {"result": None}


async def test_key_size_is_checked_in_put_many(stub: Any) -> None:
    assert await stub.call("put", {"ok": 1, "k" * 2049: 2}) == {
        "error": "RangeError: Keys cannot be larger than 2048 bytes. A key of size 2049 was "
        "provided."
    }
    # Nothing of a refused put is written.
    assert await stub.call("get", "ok") == {"result": None}


async def test_storage_error_inside_the_object_is_a_js_exception(stub: Any) -> None:
    assert await stub.error_parts("k" * 2049) == [
        "JsException",
        "RangeError",
        "Keys cannot be larger than 2048 bytes. A key of size 2049 was provided.",
    ]


async def test_storage_error_escaping_the_object_is_remote(stub: Any) -> None:
    with pytest.raises(JsException) as raised:
        await stub.call_raw("get", "k" * 2049)

    assert str(raised.value) == (
        "RangeError: Keys cannot be larger than 2048 bytes. A key of size 2049 was provided."
    )
    assert raised.value.remote is True


@pytest.mark.parametrize(
    "length",
    [
        131_060,  # oracle: inmem_errors.json value_string_len_131060
        131_072,  # oracle: inmem_errors.json value_128KiB_string_len_131072
        131_100,  # oracle: inmem_errors.json max_ascii_string_length_accepted
    ],
)
async def test_value_size_accepted(stub: Any, length: int) -> None:
    assert await stub.put_string(length) == {"result": None}
    assert await stub.call("get", "big") == {"result": "a" * length}


async def test_bytes_value_of_128_kib_is_accepted(stub: Any) -> None:
    # oracle: inmem_errors.json value_Uint8Array_131072
    assert await stub.put_bytes(131_072) == {"result": None}


@pytest.mark.parametrize(
    ("length", "size"),
    [
        # One past the largest accepted string (oracle: inmem_errors.json
        # max_ascii_string_length_accepted); its size computed by hand.
        (131_101, 131_107),
        (2_000_000, 2_000_006),  # oracle: inmem_errors.json value_string_len_2000000
        (2 * 1024 * 1024, 2_097_159),  # oracle: inmem_errors.json value_string_len_2MiB
        (2 * 1024 * 1024 + 1, 2_097_160),  # oracle: value_string_len_2MiB_plus_1
        (3 * 1024 * 1024, 3_145_735),  # oracle: inmem_errors.json value_string_len_3MiB
    ],
)
async def test_value_size_refused(stub: Any, length: int, size: int) -> None:
    assert await stub.put_string(length) == {
        "error": "RangeError: Values cannot be larger than 131072 bytes. A value of size "
        f"{size} was provided."
    }
    assert await stub.call("get", "big") == {"result": None}


# -- list ------------------------------------------------------------------------------


@pytest.fixture
async def listed(stub: Any) -> Any:
    """The oracle's sixteen keys, inserted in the oracle's order."""
    for key in ORACLE_INSERTION_ORDER:
        await stub.call("put", key, key.upper())
    return stub


async def test_list_orders_keys_by_utf8_bytes(listed: Any) -> None:
    # oracle: inmem_list.json all
    assert await listed.list_keys() == ORACLE_KEY_ORDER


async def test_list_returns_values(listed: Any) -> None:
    result = (await listed.call("list", {"prefix": "p:"}))["result"]

    assert type(result) is JsDict
    assert list(result.items()) == [("p:1", "P:1"), ("p:10", "P:10"), ("p:2", "P:2")]


@pytest.mark.parametrize(
    ("options", "keys"),
    [
        # oracle: inmem_list.json reverse
        pytest.param({"reverse": True}, ORACLE_KEY_ORDER[::-1], id="reverse"),
        # oracle: inmem_list.json limit3
        pytest.param({"limit": 3}, ["10", "9", "A"], id="limit"),
        # oracle: inmem_list.json limit3_reverse
        pytest.param({"limit": 3, "reverse": True}, ["😀", "ﬃ", "é"], id="reverse_limit"),
        # oracle: inmem_list.json prefix_p
        pytest.param({"prefix": "p"}, ["p:1", "p:10", "p:2"], id="prefix"),
        # oracle: inmem_list.json prefix_p_reverse_limit2
        pytest.param(
            {"prefix": "p", "reverse": True, "limit": 2}, ["p:2", "p:10"], id="prefix_reverse_limit"
        ),
        # oracle: inmem_list.json start_B_end_a
        pytest.param({"start": "B", "end": "a"}, ["B", "Z", "_"], id="start_end"),
        # oracle: inmem_list.json startAfter_a: startAfter is start + "\0",
        # so the key "a\0" itself is listed.
        pytest.param({"startAfter": "a", "limit": 3}, ["a\0", "ab", "p:1"], id="startAfter"),
    ],
)
async def test_list_options_oracle(listed: Any, options: dict[str, Any], keys: list[str]) -> None:
    assert await listed.list_keys(**options) == keys
    assert await listed.list_keys_with_dict(options) == keys


@pytest.mark.parametrize(
    ("options", "keys"),
    [
        # Computed by hand from ORACLE_KEY_ORDER and the reference's rules.
        pytest.param({"start": "p:10"}, ["p:10", "p:2", "q:1", "é", "ﬃ", "😀"], id="start"),
        pytest.param({"startAfter": "p:10"}, ["p:2", "q:1", "é", "ﬃ", "😀"], id="startAfter"),
        pytest.param({"end": "A"}, ["10", "9"], id="end"),
        pytest.param({"start": "é", "end": "😀"}, ["é", "ﬃ"], id="start_end_non_ascii"),
        pytest.param({"startAfter": "_", "end": "ab"}, ["a", "a\0"], id="startAfter_end"),
        pytest.param(
            {"start": "B", "end": "a", "reverse": True}, ["_", "Z", "B"], id="start_end_reverse"
        ),
        pytest.param(
            {"start": "B", "end": "ab", "reverse": True, "limit": 2},
            ["a\0", "a"],
            id="start_end_reverse_limit",
        ),
        pytest.param({"prefix": "p:1"}, ["p:1", "p:10"], id="prefix_is_a_key"),
        pytest.param({"prefix": "p", "start": "p:10"}, ["p:10", "p:2"], id="prefix_start"),
        pytest.param({"prefix": "p", "startAfter": "p:1"}, ["p:10", "p:2"], id="prefix_startAfter"),
        pytest.param({"prefix": "p", "end": "p:2"}, ["p:1", "p:10"], id="prefix_end"),
        pytest.param({"prefix": "p", "start": "a", "end": "q"}, ["p:1", "p:10", "p:2"],
                     id="prefix_inside_start_end"),
        pytest.param({"prefix": "a", "limit": 2, "reverse": True}, ["ab", "a\0"],
                     id="prefix_reverse_limit"),
        pytest.param({"prefix": ""}, ORACLE_KEY_ORDER, id="empty_prefix"),
        pytest.param({"limit": 100}, ORACLE_KEY_ORDER, id="limit_above_count"),
        pytest.param({"start": "a", "end": "a"}, [], id="start_equals_end"),
        pytest.param({"start": "b", "end": "a"}, [], id="end_before_start"),
        pytest.param({"prefix": "p", "start": "q"}, [], id="prefix_before_start"),
        pytest.param({"prefix": "p", "end": "o"}, [], id="prefix_after_end"),
        pytest.param({"prefix": "zz"}, [], id="prefix_matching_nothing"),
        pytest.param({"startAfter": "😀"}, [], id="startAfter_last_key"),
    ],
)
async def test_list_options(listed: Any, options: dict[str, Any], keys: list[str]) -> None:
    assert await listed.list_keys(**options) == keys


async def test_list_of_empty_storage(stub: Any) -> None:
    assert await stub.call("list") == {"result": {}}


@pytest.mark.parametrize(
    ("options", "error"),
    [
        # oracle: inmem_list.json start_and_startAfter
        (
            {"start": "a", "startAfter": "b"},
            "TypeError: list() cannot be called with both start and startAfter values.",
        ),
        # oracle: inmem_list.json limit0
        ({"limit": 0}, "TypeError: List limit must be positive."),
        # oracle: inmem_list.json limit_neg
        ({"limit": -1}, "TypeError: List limit must be positive."),
    ],
)
async def test_list_option_errors(listed: Any, options: dict[str, Any], error: str) -> None:
    assert await listed.list_keys(**options) == error
    assert await listed.list_keys_with_dict(options) == error


# -- deleteAll -------------------------------------------------------------------------


async def test_delete_all(listed: Any) -> None:
    assert await listed.delete_all_then_list() == [None, {}]
    assert await listed.call("get", "a") == {"result": None}


# -- transactions ----------------------------------------------------------------------


async def test_transaction_commits(stub: Any) -> None:
    await stub.call("put", "balance", 10)

    assert await stub.transfer(3) == "committed"

    assert await stub.call("get", ["balance", "log"]) == {
        "result": {"balance": 7, "log": "moved 3"}
    }


async def test_transaction_rollback(stub: Any) -> None:
    await stub.call("put", {"balance": 10, "log": "kept"})

    # oracle: inmem_errors.json transaction_rollback
    assert await stub.transaction_rolled_back() == "rolledback"

    assert await stub.call("get", ["balance", "log"]) == {"result": {"balance": 10, "log": "kept"}}


async def test_transaction_rollback_of_a_new_key(stub: Any) -> None:
    assert await stub.transaction_rolled_back() == "rolledback"

    # oracle: inmem_errors.json transaction_rollback_get_after
    assert await stub.call("get", "balance") == {"result": None}


async def test_transaction_rolls_back_when_the_closure_raises(stub: Any) -> None:
    await stub.call("put", "balance", 10)

    assert await stub.transfer_catching(3) == "ValueError: insufficient funds"

    assert await stub.call("get", ["balance", "log"]) == {"result": {"balance": 10}}
    # The object was not reset: its in-memory state is still there.
    assert await stub.seen_events() == ["transfer"]


async def test_transaction_error_reaches_the_caller_without_reset(stub: Any) -> None:
    await stub.call("put", "balance", 10)

    with pytest.raises(JsException) as raised:
        await stub.transfer(3, fail=True)

    assert raised.value.remote is True
    assert str(raised.value).endswith("\nValueError: insufficient funds")
    assert await stub.call("get", "balance") == {"result": 10}
    assert await stub.seen_events() == ["transfer"]


async def test_transaction_use_after_rollback(stub: Any) -> None:
    assert await stub.transaction_use_after_rollback() == [
        "Error: Cannot get() on rolled back transaction",
        "Error: Cannot put() on rolled back transaction",
        "Error: Cannot delete() on rolled back transaction",
        "Error: Cannot list() on rolled back transaction",
    ]
    assert await stub.call("get", "k") == {"result": None}


async def test_transaction_use_after_commit(stub: Any) -> None:
    message = (
        "Error: Cannot call {}() on transaction that has already committed: "
        "did you move `txn` outside of the closure?"
    )

    assert await stub.transaction_use_after_commit() == [
        [message.format("get"), message.format("put"), message.format("delete")],
        "v",
    ]


async def test_delete_all_inside_a_transaction(stub: Any) -> None:
    error = "Error: Cannot call deleteAll() within a transaction"

    assert await stub.delete_all_in_transaction() == [[error, error], "v"]


async def test_transaction_sync_needs_sql(stub: Any) -> None:
    # oracle: inmem_errors.json transactionSync
    assert await stub.transaction_sync() == "Error: Durable Object is not backed by SQL."


# -- sync, sql, un-awaited writes -----------------------------------------------------


async def test_sync_resolves_to_none(stub: Any) -> None:
    await stub.call("put", "k", "v")

    assert await stub.sync() is None


async def test_sql_needs_sqlite_storage(stub: Any) -> None:
    name, message = await stub.sql_error()

    assert name == "Error"
    # The reference quotes the start of the message (reference §4.1).
    assert message.startswith(
        "This Durable Object is not backed by SQLite storage, so the SQL API is not available."
    )


async def test_unawaited_put_still_commits(stub: Any) -> None:
    # Were put() a coroutine, dropping it would warn "coroutine ... was never
    # awaited", which this test run turns into an error.
    assert await stub.put_without_await("k", "v") is None
    assert await stub.call("get", "k") == {"result": "v"}

    assert await stub.put_without_await_then_get("j", [1]) == [1]
