"""The Python Workers SDK's conversion table, row by row (reference §1.3, §3.13).

Each row is observed the way Durable Object code observes it: as an RPC
argument and result through a stub, and stored with ``ctx.storage.put`` and
read back with ``ctx.storage.get`` inside the object.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any

import pytest
from workers import DurableObject, JsDict

from pytest_durable import JsException
from pytest_durable._js import JsArray, JsObject, serialized_size


class Unsendable:
    """A class with no JavaScript equivalent."""


UNSENDABLE = Unsendable()
TWO_HOURS_EAST = dt.timezone(dt.timedelta(hours=2))

# name: (value sent or stored, value that comes back, its type). Expected
# values are the SDK's and Pyodide's rules of reference §1.3 and §3.13.
ROUND_TRIPS: dict[str, tuple[Any, Any, type]] = {
    "str": ("héllo 😀", "héllo 😀", str),
    "empty_str": ("", "", str),
    "int": (42, 42, int),
    "negative_int": (-7, -7, int),
    # A number with no fractional part arrives as int.
    "float_integral": (2.0, 2, int),
    "float": (2.5, 2.5, float),
    # ... unless it is beyond 2**53, where it stays a float.
    "float_beyond_2_53": (2.0**60, 2.0**60, float),
    "infinity": (math.inf, math.inf, float),
    "minus_infinity": (-math.inf, -math.inf, float),
    "true": (True, True, bool),
    "false": (False, False, bool),
    "none": (None, None, type(None)),
    "list": ([1, "two", [3.5, None]], [1, "two", [3.5, None]], list),
    "nested_dict": (
        {"a": {"b": [1, {"c": "d"}]}, "n": None},
        {"a": {"b": [1, {"c": "d"}]}, "n": None},
        JsDict,
    ),
    "int_keys": ({1: "one", 2.5: "two and a half"}, {"1": "one", "2.5": "two and a half"}, JsDict),
    # Keys that look like digits but are not ASCII are ordinary names.
    "unicode_digit_keys": ({"²": 2, "١": 1}, {"²": 2, "١": 1}, JsDict),
    "empty_dict": ({}, {}, JsDict),
    "set": ({1, "x"}, {1, "x"}, set),
    # Naive datetimes are UTC; a Date keeps whole milliseconds.
    "datetime": (
        dt.datetime(2026, 1, 2, 3, 4, 5, 678901),
        dt.datetime(2026, 1, 2, 3, 4, 5, 678000),
        dt.datetime,
    ),
    # TimeClip truncates toward zero, so before 1970 the millisecond rounds up.
    "datetime_before_1970": (
        dt.datetime(1969, 12, 31, 23, 59, 59, 998500),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999000),
        dt.datetime,
    ),
    "aware_datetime": (
        dt.datetime(2026, 1, 2, 5, 4, 5, 678000, tzinfo=TWO_HOURS_EAST),
        dt.datetime(2026, 1, 2, 3, 4, 5, 678000),
        dt.datetime,
    ),
    # Beyond 2**53 an int crosses as a BigInt and comes back whole.
    "int_2_53_plus_1": (2**53 + 1, 2**53 + 1, int),
    "int_2_100": (2**100, 2**100, int),
    "int_minus_2_63": (-(2**63), -(2**63), int),
    "bytes": (b"\x00\x01\xff", b"\x00\x01\xff", memoryview),
    "empty_bytes": (b"", b"", memoryview),
}

DISABLED: dict[str, tuple[Any, str]] = {
    "tuple": ((1, 2), "<class 'tuple'> cannot be sent over RPC."),
    "bytearray": (bytearray(b"ab"), "<class 'bytearray'> cannot be sent over RPC."),
    "tuple_in_list": ([1, (2, 3)], "<class 'tuple'> cannot be sent over RPC."),
    "tuple_in_dict": ({"a": [(2, 3)]}, "<class 'tuple'> cannot be sent over RPC."),
    "bytearray_in_dict_in_list": (
        [{"k": bytearray()}], "<class 'bytearray'> cannot be sent over RPC."
    ),
}

UNCLONEABLE: dict[str, Any] = {
    "custom_object": UNSENDABLE,
    "complex": 1 + 2j,
    "range": range(3),
    "custom_object_in_list": [1, UNSENDABLE],
    "complex_in_dict": {"z": 1j},
}

VALUES: dict[str, Any] = {
    **{name: row[0] for name, row in ROUND_TRIPS.items()},
    **{name: row[0] for name, row in DISABLED.items()},
    **UNCLONEABLE,
    "nan": math.nan,
    "mixed_keys": {"b": 1, 10: 2, "a": 3, 2: 4, "01": 5},
}


class EchoObject(DurableObject):
    async def echo(self, value: Any) -> Any:
        return value

    async def echo_args(self, *args: Any) -> Any:
        return list(args)

    def echo_sync(self, value: Any) -> Any:
        return value

    async def type_of(self, value: Any) -> str:
        return type(value).__name__

    async def nested_attribute(self, value: Any, path: str) -> Any:
        for name in path.split("."):
            value = getattr(value, name)
        return value

    async def send_back(self, name: str) -> Any:
        return VALUES[name]

    async def store(self, name: str) -> Any:
        await self.ctx.storage.put("value", VALUES[name])
        got = await self.ctx.storage.get("value")
        return [type(got).__name__, got]

    async def store_error(self, name: str) -> str:
        try:
            await self.ctx.storage.put("value", VALUES[name])
        except (TypeError, JsException) as exc:
            return f"{type(exc).__name__} {exc}"
        return "stored"

    async def store_awaitable_error(self, kind: str) -> str:
        awaitable: Any
        if kind == "coroutine":
            awaitable = _coroutine()
        else:
            awaitable = asyncio.get_running_loop().create_future()
        try:
            await self.ctx.storage.put("value", awaitable)
        except TypeError as exc:
            return str(exc)
        finally:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
        return "stored"

    async def stored_attribute(self, path: str) -> Any:
        await self.ctx.storage.put("value", VALUES["nested_dict"])
        value = await self.ctx.storage.get("value")
        return await self.nested_attribute(value, path)


async def _coroutine() -> None:
    return None


pytestmark = pytest.mark.durable_object(cls=EchoObject)


@pytest.fixture
def stub(durable_ns: Any) -> Any:
    return durable_ns.getByName("values")


def _round_trips() -> list[Any]:
    return [pytest.param(*row, id=name) for name, row in ROUND_TRIPS.items()]


def _seen_as(expected_type: type) -> type:
    """The class code sees while a simulation runs: the fake clock (freezegun)
    replaces ``datetime.datetime`` with a subclass of it."""
    return dt.datetime if issubclass(dt.datetime, expected_type) else expected_type


# -- as RPC arguments and results ---------------------------------------------------


@pytest.mark.parametrize(("sent", "expected", "expected_type"), _round_trips())
async def test_rpc_argument_and_result(
    stub: Any, sent: Any, expected: Any, expected_type: type
) -> None:
    assert await stub.type_of(sent) == _seen_as(expected_type).__name__

    result = await stub.echo(sent)

    assert type(result) is _seen_as(expected_type)
    assert result == expected


@pytest.mark.parametrize(("sent", "expected", "expected_type"), _round_trips())
async def test_rpc_result_of_a_sync_method(
    stub: Any, sent: Any, expected: Any, expected_type: type
) -> None:
    result = await stub.echo_sync(sent)

    assert type(result) is _seen_as(expected_type)
    assert result == expected


async def test_rpc_dicts_read_as_attributes(stub: Any) -> None:
    sent = {"a": {"b": [1, {"c": "d"}]}}

    assert await stub.nested_attribute(sent, "a.b") == [1, {"c": "d"}]
    result = await stub.echo(sent)

    assert result.a.b[1].c == "d"
    assert type(result.a) is JsDict
    assert type(result.a.b[1]) is JsDict
    with pytest.raises(AttributeError, match=r"^missing$"):
        _ = result.missing


async def test_rpc_int_keys_arrive_as_str(stub: Any) -> None:
    assert await stub.echo_args({1: "a"}) == [{"1": "a"}]
    assert await stub.nested_attribute({7: {8: "x"}}, "7.8") == "x"


async def test_rpc_bytes_arrive_as_memoryview(stub: Any) -> None:
    assert await stub.type_of(b"abc") == "memoryview"

    result = await stub.echo(b"abc")

    assert result.tobytes() == b"abc"
    assert result.nbytes == 3


async def test_rpc_nan_arrives_as_nan(stub: Any) -> None:
    assert await stub.type_of(math.nan) == "float"

    assert math.isnan(await stub.echo(math.nan))


async def test_rpc_dict_keys_come_back_in_javascript_order(stub: Any) -> None:
    # A JavaScript object lists integer-like keys first, ascending, then the
    # others in the order they were added.
    result = await stub.echo({"b": 1, 10: 2, "a": 3, 2: 4, "01": 5})

    assert list(result) == ["2", "10", "b", "a", "01"]


@pytest.mark.parametrize(
    ("sent", "message"), [pytest.param(*row, id=name) for name, row in DISABLED.items()]
)
async def test_rpc_disabled_argument_types_raise_type_error(
    stub: Any, sent: Any, message: str
) -> None:
    with pytest.raises(TypeError) as raised:
        await stub.echo(sent)

    assert type(raised.value) is TypeError
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("name", "message"), [pytest.param(name, row[1], id=name) for name, row in DISABLED.items()]
)
async def test_rpc_disabled_result_types_fail_in_the_object(
    stub: Any, name: str, message: str
) -> None:
    with pytest.raises(JsException) as raised:
        await stub.send_back(name)

    # The object's TypeError reaches the caller as a PythonError with its traceback.
    assert raised.value.remote is True
    assert str(raised.value).startswith("Error: PythonError: Traceback (most recent call last):")
    assert str(raised.value).endswith(f"\nTypeError: {message}")


async def test_rpc_coroutine_argument_is_refused(stub: Any) -> None:
    coroutine = _coroutine()
    try:
        with pytest.raises(TypeError) as raised:
            await stub.echo(coroutine)
    finally:
        coroutine.close()

    assert str(raised.value) == "Awaitable <class 'coroutine'> cannot be sent over RPC."


async def test_rpc_future_argument_is_refused(stub: Any) -> None:
    future = asyncio.get_running_loop().create_future()

    with pytest.raises(TypeError) as raised:
        await stub.echo([future])

    assert str(raised.value) == "Awaitable <class '_asyncio.Future'> cannot be sent over RPC."


@pytest.mark.parametrize("sent", [pytest.param(v, id=name) for name, v in UNCLONEABLE.items()])
async def test_rpc_uncloneable_argument_is_a_data_clone_error(stub: Any, sent: Any) -> None:
    with pytest.raises(JsException) as raised:
        await stub.echo(sent)

    assert raised.value.name == "DataCloneError"
    # A Python object crosses as a JavaScript Proxy of a plain object, which V8's
    # serializer names #<Object> (checked: structuredClone(new Proxy({}, {})) in Node).
    assert str(raised.value) == "DataCloneError: #<Object> could not be cloned."


@pytest.mark.parametrize("name", list(UNCLONEABLE))
async def test_rpc_uncloneable_result_is_a_remote_data_clone_error(stub: Any, name: str) -> None:
    with pytest.raises(JsException) as raised:
        await stub.send_back(name)

    assert raised.value.remote is True
    assert str(raised.value).startswith("DataCloneError: ")


async def test_rpc_keyword_arguments_fold_into_a_trailing_dict(stub: Any) -> None:
    assert await stub.echo_args(a=1) == [{"a": 1}]
    assert await stub.echo_args(1, "x", a=1, b=[2.0, None]) == [1, "x", {"a": 1, "b": [2, None]}]
    assert await stub.type_of(a=1) == "JsDict"
    assert (await stub.echo(when=dt.datetime(2026, 1, 1))).when == dt.datetime(2026, 1, 1)


async def test_rpc_keyword_arguments_are_checked_like_positional_ones(stub: Any) -> None:
    with pytest.raises(TypeError) as raised:
        await stub.echo(a=(1,))

    assert str(raised.value) == "<class 'tuple'> cannot be sent over RPC."


# -- stored and read back ---------------------------------------------------------


@pytest.mark.parametrize(("name", "expected", "expected_type"), [
    pytest.param(name, row[1], row[2], id=name) for name, row in ROUND_TRIPS.items()
])
async def test_storage_round_trip(
    stub: Any, name: str, expected: Any, expected_type: type
) -> None:
    type_name, value = await stub.store(name)

    assert type_name == _seen_as(expected_type).__name__
    assert value == expected


async def test_storage_keeps_nan(stub: Any) -> None:
    type_name, value = await stub.store("nan")

    assert type_name == "float"
    assert math.isnan(value)


async def test_storage_dict_keys_come_back_in_javascript_order(stub: Any) -> None:
    _, value = await stub.store("mixed_keys")

    assert list(value) == ["2", "10", "b", "a", "01"]


async def test_storage_dicts_read_as_attributes(stub: Any) -> None:
    assert await stub.stored_attribute("a.b") == [1, {"c": "d"}]
    assert await stub.stored_attribute("n") is None


@pytest.mark.parametrize(
    ("name", "message"), [pytest.param(name, row[1], id=name) for name, row in DISABLED.items()]
)
async def test_storage_refuses_disabled_types(stub: Any, name: str, message: str) -> None:
    assert await stub.store_error(name) == f"TypeError {message}"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("coroutine", "Awaitable <class 'coroutine'> cannot be sent over RPC."),
        ("future", "Awaitable <class '_asyncio.Future'> cannot be sent over RPC."),
    ],
)
async def test_storage_refuses_awaitables(stub: Any, kind: str, message: str) -> None:
    assert await stub.store_awaitable_error(kind) == message


@pytest.mark.parametrize("name", list(UNCLONEABLE))
async def test_storage_refuses_uncloneable_values(stub: Any, name: str) -> None:
    error = await stub.store_error(name)

    assert error == "JsException DataCloneError: #<Object> could not be cloned."


async def test_storage_refused_value_leaves_the_old_one(stub: Any) -> None:
    assert await stub.store("str") == ["str", "héllo 😀"]
    assert await stub.store_error("complex") != "stored"

    assert await stub.store("none") == ["NoneType", None]


# -- serialized size (what the value size limit counts) ------------------------------


@pytest.mark.parametrize(
    ("length", "size"),
    [
        # oracle: inmem_errors.json value_string_len_2MiB
        (2 * 1024 * 1024, 2_097_159),
        # oracle: inmem_errors.json value_string_len_2MiB_plus_1
        (2 * 1024 * 1024 + 1, 2_097_160),
        # oracle: inmem_errors.json value_string_len_2000000
        (2_000_000, 2_000_006),
        # oracle: inmem_errors.json value_string_len_3MiB
        (3 * 1024 * 1024, 3_145_735),
    ],
)
def test_serialized_size_of_one_byte_strings(length: int, size: int) -> None:
    assert serialized_size("a" * length) == size


def test_serialized_size_of_the_largest_accepted_string() -> None:
    # oracle: inmem_errors.json max_ascii_string_length_accepted (131100)
    limit = 128 * 1024 + 34
    assert serialized_size("a" * 131_100) == limit
    assert serialized_size("a" * 131_101) == limit + 1


def test_serialized_size_of_small_values() -> None:
    # Computed by hand from V8's ValueSerializer: 2 header bytes, then a tag
    # and its payload.
    assert serialized_size("") == 2 + 1 + 1
    assert serialized_size(1.0) == 2 + 1 + 1  # Int32 tag, zigzag varint 2
    assert serialized_size(2.5) == 2 + 1 + 8  # Double tag, 8 bytes
    assert serialized_size(math.inf) == 2 + 1 + 8
    assert serialized_size(math.nan) == 2 + 1 + 8
    assert serialized_size(2.0**31) == 2 + 1 + 8  # beyond the 31-bit small integers
    assert serialized_size(JsArray([1.0])) == 2 + (1 + 1) + (1 + 1) + (1 + 1 + 1)
    assert serialized_size(JsObject({"k": "v"})) == 2 + 1 + (1 + 1 + 1) * 2 + 1 + 1
    # An array-index key is written as a number, any other key as a string.
    assert serialized_size(JsObject({"7": "v"})) == 2 + 1 + (1 + 1) + (1 + 1 + 1) + 1 + 1
    assert serialized_size(JsObject({"07": "v"})) == 2 + 1 + (1 + 1 + 2) + (1 + 1 + 1) + 1 + 1
    assert serialized_size(JsObject({"²": "v"})) == 2 + 1 + (1 + 1 + 1) + (1 + 1 + 1) + 1 + 1
