"""JavaScript values as the runtime holds them.

The simulator keeps every value that crosses into "JavaScript" in the shapes
below, never as the Python object it came from, so that storage, RPC and
attachments see what workerd would see: numbers are doubles, strings are
strings, objects have string keys, and anything else is a host object or a
``PyProxy`` that structured clone refuses.

``structured_clone`` copies a value the way V8's serializer round-trips it and
``serialized_size`` counts the bytes V8's serializer (format 15, with header)
would write; the runtime's size limits are checked against that count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final

from . import _errors

MAX_ARRAY_INDEX: Final = 2**32 - 2
MAX_TIME_MS: Final = 8.64e15
"""The largest time value a Date holds (100,000,000 days either side of 1970)."""


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


class _Null:
    __slots__ = ()

    def __repr__(self) -> str:
        return "null"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()
NULL: Final = _Null()


class JsBigInt:
    """A JavaScript BigInt (Pyodide sends Python ints beyond 2**53 as one)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsBigInt) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"{self.value}n"


class JsObjectBase:
    """Base of every JavaScript object: compared by identity, like JS."""

    js_class: ClassVar[str] = "Object"
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


class JsObject(JsObjectBase):
    """A plain object: string keys in insertion order."""

    __slots__ = ("props",)

    def __init__(self, props: dict[str, Any] | None = None) -> None:
        self.props: dict[str, Any] = props if props is not None else {}

    def __repr__(self) -> str:
        return f"JsObject({self.props!r})"


class JsArray(JsObjectBase):
    js_class = "Array"
    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items: list[Any] = list(items)

    def __repr__(self) -> str:
        return f"JsArray({self.items!r})"


class JsMap(JsObjectBase):
    """A Map. Keys are compared with SameValueZero, which for the primitive
    keys Python code can produce is Python equality (objects by identity)."""

    js_class = "Map"
    __slots__ = ("entries",)

    def __init__(self, entries: Iterable[tuple[Any, Any]] = ()) -> None:
        self.entries: dict[Any, Any] = dict(entries)


class JsSet(JsObjectBase):
    js_class = "Set"
    __slots__ = ("values",)

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self.values: dict[Any, None] = dict.fromkeys(values)


class JsDate(JsObjectBase):
    js_class = "Date"
    __slots__ = ("ms",)

    def __init__(self, ms: float) -> None:
        self.ms = _time_clip(float(ms))

    def getTime(self) -> float:
        return self.ms

    def valueOf(self) -> float:
        return self.ms

    def __repr__(self) -> str:
        return f"JsDate({self.ms!r})"


def _time_clip(ms: float) -> float:
    """ECMAScript TimeClip: a Date keeps whole milliseconds, truncated toward
    zero, and is invalid (NaN) outside the range it can hold."""
    if not math.isfinite(ms) or abs(ms) > MAX_TIME_MS:
        return math.nan
    return float(math.trunc(ms))


class JsArrayBuffer(JsObjectBase):
    js_class = "ArrayBuffer"
    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytearray(data)

    @property
    def byteLength(self) -> int:
        return len(self.data)


class JsUint8Array(JsObjectBase):
    """A Uint8Array over a buffer of its own (views into shared buffers are
    not modelled: Python code only ever makes them through ``to_js``)."""

    js_class = "Uint8Array"
    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytearray(data)

    @property
    def length(self) -> int:
        return len(self.data)

    @property
    def byteLength(self) -> int:
        return len(self.data)


class JsErrorValue(JsObjectBase):
    """An Error object (a value, as opposed to a thrown ``JsException``)."""

    js_class = "Error"
    __slots__ = ("message", "name")

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message

    def toString(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name


class JsFunction(JsObjectBase):
    """A callable JavaScript function backed by Python code.

    ``fn`` receives JavaScript values and returns one; the Pyodide layer does
    the conversions around it.
    """

    js_class = "Function"
    __slots__ = ("fn", "name")

    def __init__(self, fn: Callable[..., Any], name: str = "") -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "")

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


class PyProxy(JsObjectBase):
    """A Python object that crossed into JavaScript without conversion."""

    js_class = "PyProxy"
    __slots__ = ("destroyed", "obj")

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.destroyed = False

    def toString(self) -> str:
        return str(self.obj)


class HostObject(JsObjectBase):
    """An object implemented by the runtime (ids, sockets, cursors, ...).

    ``js_members`` names the properties and methods JavaScript sees. Host
    objects are not structured-cloneable unless they say otherwise.
    """

    js_members: ClassVar[frozenset[str]] = frozenset()

    def toString(self) -> str:
        return f"[object {self.js_class}]"


# -- type tests ----------------------------------------------------------------


def is_primitive(value: Any) -> bool:
    return value is UNDEFINED or value is NULL or isinstance(value, (bool, float, str, JsBigInt))


def js_typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, JsBigInt):
        return "bigint"
    if isinstance(value, (JsFunction,)) or (isinstance(value, PyProxy) and callable(value.obj)):
        return "function"
    return "object"


def to_js_string(value: Any) -> str:
    """JavaScript ``String(value)``."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is NULL:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return number_to_string(value)
    if isinstance(value, JsBigInt):
        return str(value.value)
    if isinstance(value, JsArray):
        return ",".join("" if v is UNDEFINED or v is NULL else to_js_string(v) for v in value.items)
    if isinstance(value, (JsErrorValue, HostObject, PyProxy)):
        return value.toString()
    if isinstance(value, JsFunction):
        return f"function {value.name}() {{ [native code] }}"
    if isinstance(value, (JsArrayBuffer, JsUint8Array, JsDate, JsMap, JsSet)):
        return f"[object {value.js_class}]"
    return "[object Object]"


def number_to_string(value: float) -> str:
    """JavaScript's Number::toString for the common cases."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def is_array_index(key: str) -> bool:
    """Whether a property name is an array index (a canonical integer below
    2**32 - 1), which JavaScript orders and V8 serializes as a number."""
    return (
        key.isascii()
        and key.isdigit()
        and (key == "0" or not key.startswith("0"))
        and int(key) <= MAX_ARRAY_INDEX
    )


def own_keys(obj: JsObject) -> list[str]:
    """An object's keys in JavaScript's order: array indices ascending, then
    the other names in the order they were added."""
    indices = sorted((k for k in obj.props if is_array_index(k)), key=int)
    return indices + [k for k in obj.props if not is_array_index(k)]


# -- structured clone ------------------------------------------------------------


def structured_clone(value: Any) -> Any:
    """Copy ``value`` as V8's serializer and deserializer would.

    Raises the runtime's ``DataCloneError`` for functions, Python objects that
    crossed without conversion, and host objects.
    """
    return _clone(value, {})


def _clone(value: Any, seen: dict[int, Any]) -> Any:
    if is_primitive(value):
        return value
    if id(value) in seen:
        return seen[id(value)]
    result: Any
    if isinstance(value, JsObject):
        result = seen[id(value)] = JsObject()
        result.props.update((k, _clone(value.props[k], seen)) for k in own_keys(value))
    elif isinstance(value, JsArray):
        result = seen[id(value)] = JsArray()
        result.items.extend(_clone(v, seen) for v in value.items)
    elif isinstance(value, JsMap):
        result = seen[id(value)] = JsMap()
        result.entries.update((_clone(k, seen), _clone(v, seen)) for k, v in value.entries.items())
    elif isinstance(value, JsSet):
        result = seen[id(value)] = JsSet()
        result.values.update(dict.fromkeys(_clone(v, seen) for v in value.values))
    elif isinstance(value, JsDate):
        result = JsDate(value.ms)
    elif isinstance(value, JsArrayBuffer):
        result = JsArrayBuffer(value.data)
    elif isinstance(value, JsUint8Array):
        result = JsUint8Array(value.data)
    elif isinstance(value, JsErrorValue):
        result = JsErrorValue(value.name, value.message)
    else:
        raise _errors.js_error("DataCloneError", _errors.DATA_CLONE.format(what=_clone_name(value)))
    seen[id(value)] = result
    return result


def _clone_name(value: Any) -> str:
    """How V8's serializer names a value it cannot clone. A Python object
    that crossed as a PyProxy is a JavaScript Proxy of a plain object, which
    V8 names ``#<Object>`` (checked with V8's structuredClone in Node)."""
    if isinstance(value, PyProxy) and not callable(value.obj):
        return "#<Object>"
    return to_js_string(value)


# -- serialized size -------------------------------------------------------------

_HEADER_SIZE: Final = 2  # kVersion tag and the varint 15
_SMI_MIN: Final = -(2**30)  # V8 with pointer compression: 31-bit small integers
_SMI_MAX: Final = 2**30 - 1


def serialized_size(value: Any) -> int:
    """Bytes V8's ValueSerializer writes for ``value``, header included.

    Checked against workerd: a one-byte string of 2 MiB serializes to
    2,097,159 bytes and one of 2,000,000 characters to 2,000,006 (oracle
    ``inmem_errors.json``). Call after ``structured_clone`` succeeded.
    """
    return _HEADER_SIZE + _size(value, 0)


def _varint_size(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def _string_size(text: str, offset: int) -> int:
    if all(ord(ch) < 0x100 for ch in text):
        return 1 + _varint_size(len(text)) + len(text)
    byte_length = len(text.encode("utf-16-le", "surrogatepass"))
    size = 1 + _varint_size(byte_length) + byte_length
    # V8 pads so that two-byte string data starts at an even offset.
    if (offset + 1 + _varint_size(byte_length)) % 2:
        size += 1
    return size


def _number_size(value: float) -> int:
    # NaN and the infinities are not integers: they are written as doubles.
    if value.is_integer() and _SMI_MIN <= value <= _SMI_MAX and not (
        value == 0 and math.copysign(1.0, value) < 0
    ):
        return 1 + _varint_size(_zigzag(int(value)))
    return 1 + 8


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 31)


def _key_size(key: str, offset: int) -> int:
    if is_array_index(key):
        return _number_size(float(key))
    return _string_size(key, offset)


def _size(value: Any, offset: int) -> int:
    if value is UNDEFINED or value is NULL or isinstance(value, bool):
        return 1
    if isinstance(value, float):
        return _number_size(value)
    if isinstance(value, str):
        return _string_size(value, offset)
    if isinstance(value, JsBigInt):
        digits = max(1, (abs(value.value).bit_length() + 63) // 64)
        return 1 + _varint_size(digits * 8 * 2) + digits * 8
    if isinstance(value, JsObject):
        size = 1
        for key in own_keys(value):
            size += _key_size(key, offset + size)
            size += _size(value.props[key], offset + size)
        return size + 1 + _varint_size(len(value.props))
    if isinstance(value, JsArray):
        size = 1 + _varint_size(len(value.items))
        for item in value.items:
            size += _size(item, offset + size)
        return size + 1 + _varint_size(0) + _varint_size(len(value.items))
    if isinstance(value, JsMap):
        size = 1
        for key, item in value.entries.items():
            size += _size(key, offset + size)
            size += _size(item, offset + size)
        return size + 1 + _varint_size(2 * len(value.entries))
    if isinstance(value, JsSet):
        size = 1
        for item in value.values:
            size += _size(item, offset + size)
        return size + 1 + _varint_size(len(value.values))
    if isinstance(value, JsDate):
        return 1 + 8
    if isinstance(value, JsArrayBuffer):
        return 1 + _varint_size(len(value.data)) + len(value.data)
    if isinstance(value, JsUint8Array):
        n = len(value.data)
        buffer = 1 + _varint_size(n) + n
        view = 1 + 1 + _varint_size(0) + _varint_size(n) + _varint_size(0)
        return buffer + view
    if isinstance(value, JsErrorValue):
        size = 1 + 1  # tag, then the prototype tag
        size += 1 + _string_size(value.message, offset + size + 1)
        return size + 1
    raise TypeError(f"serialized_size() got an uncloneable value {value!r}")

