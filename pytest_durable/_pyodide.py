"""Pyodide's foreign function interface, modelled once.

Python code in a Worker never touches JavaScript values directly: each value
that crosses goes through Pyodide's conversions, which this module reproduces.

* Implicit conversion (``from_js`` / ``to_js_implicit``): numbers, strings,
  booleans, ``None``/``undefined`` and BigInts convert both ways; every other
  JavaScript value reaches Python as a ``JsProxy``; every other Python value
  reaches JavaScript as a ``PyProxy``.
* Explicit conversion: ``to_js`` (deep, Python to JavaScript) and
  ``JsProxy.to_py`` (deep, JavaScript to Python).

A JavaScript number with no fractional part and a magnitude of at most 2**53
arrives as ``int``: that is why a stored ``2.0`` reads back as ``2``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Iterator
from typing import Any, Final

from . import _js
from ._errors import JsException, NotModelled
from ._js import (
    NULL,
    UNDEFINED,
    HostObject,
    JsArray,
    JsArrayBuffer,
    JsBigInt,
    JsDate,
    JsErrorValue,
    JsFunction,
    JsMap,
    JsObject,
    JsObjectBase,
    JsSet,
    JsUint8Array,
    PyProxy,
)

__all__ = [
    "JsException",
    "JsPromise",
    "JsProxy",
    "create_once_callable",
    "create_proxy",
    "from_js",
    "jsnull",
    "to_js",
    "to_js_implicit",
]


class JsNull:
    """Pyodide's ``jsnull``: JavaScript ``null`` as Python sees it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "jsnull"

    def __bool__(self) -> bool:
        return False


jsnull: Final = JsNull()


class JsPromise(JsObjectBase):
    """A promise: settled already, or backed by a Python awaitable that
    produces a JavaScript value."""

    js_class = "Promise"
    __slots__ = ("_awaitable", "_error", "_value")

    def __init__(
        self,
        awaitable: asyncio.Future[Any] | None = None,
        *,
        value: Any = UNDEFINED,
        error: BaseException | None = None,
    ) -> None:
        self._awaitable = awaitable
        self._value = value
        self._error = error

    @classmethod
    def resolve(cls, value: Any = UNDEFINED) -> JsPromise:
        return cls(value=value)

    @classmethod
    def reject(cls, error: BaseException) -> JsPromise:
        return cls(error=error)

    def wait(self) -> Generator[Any, None, Any]:
        """Wait for the promise; returns the JavaScript value."""
        if self._awaitable is not None:
            # A promise is not cancelled by its awaiter giving up, as in
            # JavaScript: the work behind it (an RPC call, say) runs on.
            return (yield from asyncio.shield(self._awaitable).__await__())
        if self._error is not None:
            raise self._error
        return self._value


# -- implicit conversion ---------------------------------------------------------


def from_js(value: Any) -> Any:
    """A JavaScript value as Python receives it without ``to_py``."""
    if value is UNDEFINED:
        return None
    if value is NULL:
        return jsnull
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= 2**53:
            return int(value)
        return value
    if isinstance(value, JsBigInt):
        return value.value
    if isinstance(value, PyProxy) and not value.destroyed:
        return value.obj
    return JsProxy(value)


def to_js_implicit(value: Any) -> Any:
    """A Python value as JavaScript receives it when passed to a JS function."""
    if value is None:
        return UNDEFINED
    if value is jsnull:
        return NULL
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) <= 2**53 else JsBigInt(value)
    if isinstance(value, float):
        return value
    if isinstance(value, JsProxy):
        return value._js
    return PyProxy(value)


def call_js(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a JavaScript function from Python, as Pyodide does.

    Keyword arguments are folded into one trailing object argument.
    """
    js_args = [to_js_implicit(a) for a in args]
    if kwargs:
        js_args.append(JsObject({k: to_js_implicit(v) for k, v in kwargs.items()}))
    return from_js(fn(*js_args))


# -- explicit conversion -----------------------------------------------------------

DefaultConverter = Callable[[Any, Callable[[Any], Any], Callable[[Any, Any], None]], Any]


def to_js(
    obj: Any,
    *,
    depth: int = -1,
    dict_converter: Any = None,
    default_converter: DefaultConverter | None = None,
    **unsupported: Any,
) -> Any:
    """``pyodide.ffi.to_js``: convert a Python value deeply to JavaScript.

    Returns what Python sees of the result: a ``JsProxy`` for objects.
    """
    if unsupported:
        names = ", ".join(sorted(unsupported))
        raise NotModelled(f"to_js() option(s) not modelled by pytest-durable: {names}")
    if depth != -1:
        raise NotModelled("to_js(depth=...) is not modelled by pytest-durable; convert fully")
    cache: dict[int, Any] = {}

    def convert(value: Any) -> Any:
        return from_js(_to_js_value(value, dict_converter, default_converter, cache, convert))

    return from_js(_to_js_value(obj, dict_converter, default_converter, cache, convert))


def _to_js_value(
    obj: Any,
    dict_converter: Any,
    default_converter: DefaultConverter | None,
    cache: dict[int, Any],
    convert: Callable[[Any], Any],
) -> Any:
    if obj is None or obj is jsnull or isinstance(obj, (bool, int, float, str, JsProxy)):
        return to_js_implicit(obj)
    if id(obj) in cache:
        return cache[id(obj)]

    def recurse(value: Any) -> Any:
        return _to_js_value(value, dict_converter, default_converter, cache, convert)

    result: Any
    if isinstance(obj, dict):
        entries = [(recurse(k), recurse(v)) for k, v in obj.items()]
        if dict_converter is None:
            result = JsMap(entries)
        else:
            pairs = JsArray(JsArray([k, v]) for k, v in entries)
            result = to_js_implicit(dict_converter(JsProxy(pairs)))
    elif isinstance(obj, (list, tuple)):
        result = JsArray(recurse(v) for v in obj)
    elif isinstance(obj, (set, frozenset)):
        result = JsSet(recurse(v) for v in obj)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        result = JsUint8Array(bytes(obj))
    elif default_converter is not None:

        def cache_conversion(key: Any, value: Any) -> None:
            cache[id(key)] = to_js_implicit(value)

        result = to_js_implicit(default_converter(obj, convert, cache_conversion))
    else:
        result = PyProxy(obj)
    cache[id(obj)] = result
    return result


def to_py(value: Any, default_converter: DefaultConverter | None = None) -> Any:
    """``JsProxy.to_py``: convert a JavaScript value deeply to Python."""
    cache: dict[int, Any] = {}

    def convert(item: Any) -> Any:
        return _to_py_value(item._js if isinstance(item, JsProxy) else item)

    def cache_conversion(key: Any, item: Any) -> None:
        cache[id(key._js if isinstance(key, JsProxy) else key)] = item

    def _to_py_value(item: Any) -> Any:
        if not isinstance(item, JsObjectBase) or isinstance(item, PyProxy):
            return from_js(item)
        if id(item) in cache:
            return cache[id(item)]
        result: Any
        if isinstance(item, JsArray):
            result = cache[id(item)] = []
            result.extend(_to_py_value(v) for v in item.items)
        elif isinstance(item, JsObject):
            result = cache[id(item)] = {}
            result.update((k, _to_py_value(item.props[k])) for k in _js.own_keys(item))
        elif isinstance(item, JsMap):
            result = cache[id(item)] = {}
            result.update((_to_py_value(k), _to_py_value(v)) for k, v in item.entries.items())
        elif isinstance(item, JsSet):
            result = {_to_py_value(v) for v in item.values}
        elif isinstance(item, (JsArrayBuffer, JsUint8Array)):
            result = memoryview(bytes(item.data))
        elif default_converter is not None:
            result = default_converter(JsProxy(item), convert, cache_conversion)
        else:
            result = JsProxy(item)
        cache[id(item)] = result
        return result

    return _to_py_value(value)


# -- JsProxy ---------------------------------------------------------------------


class _Constructor:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<constructor {self.name}>"


class JsProxy:
    """A JavaScript object seen from Python (``pyodide.ffi.JsProxy``)."""

    __slots__ = ("_js",)
    _js: Any

    def __new__(cls, js_value: Any) -> JsProxy:
        if cls is JsProxy:
            # As in Pyodide, the proxy's Python type follows the JavaScript
            # type: only functions are callable, only promises awaitable.
            if isinstance(js_value, JsPromise):
                cls = JsPromiseProxy
            elif _js.js_typeof(js_value) == "function":
                cls = JsCallableProxy
        return object.__new__(cls)

    def __init__(self, js_value: Any) -> None:
        object.__setattr__(self, "_js", js_value)

    # -- identity and introspection

    @property
    def typeof(self) -> str:
        return _js.js_typeof(self._js)

    @property
    def js_id(self) -> int:
        return id(self._js)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsProxy) and other._js is self._js

    def __hash__(self) -> int:
        return id(self._js)

    def __str__(self) -> str:
        return _js.to_js_string(self._js)

    def __repr__(self) -> str:
        return _js.to_js_string(self._js)

    def __bool__(self) -> bool:
        return True

    # -- properties

    def __getattr__(self, name: str) -> Any:
        target = self._js
        if name == "constructor" and not hasattr(target, "js_get"):
            return _Constructor(target.js_class)
        if isinstance(target, JsObject):
            if name in target.props:
                return from_js(target.props[name])
        elif isinstance(target, JsArray):
            if name == "length":
                return len(target.items)
        elif isinstance(target, JsMap):
            if name == "size":
                return len(target.entries)
            if name in ("get", "has"):
                return _bound(getattr(self, f"_map_{name}"), name)
        elif isinstance(target, JsSet):
            if name == "size":
                return len(target.values)
        elif isinstance(target, (JsArrayBuffer, JsUint8Array)):
            if name in ("byteLength", "length"):
                return len(target.data)
        elif isinstance(target, JsErrorValue):
            if name in ("name", "message"):
                return getattr(target, name)
            if name == "toString":
                return _bound(target.toString, name)
        elif isinstance(target, JsDate):
            if name in ("getTime", "valueOf"):
                return _bound(getattr(target, name), name)
        elif isinstance(target, JsClass):
            if name in target.statics:
                return from_js(target.statics[name])
            if name == "new":
                return _bound(target.construct, "new")
            if name == "name":
                return target.name
        elif isinstance(target, HostObject):
            if name in type(target).js_members:
                member = getattr(target, name)
                if callable(member) and not isinstance(member, JsObjectBase):
                    return _bound(member, name)
                return from_js(member)
            js_get = getattr(target, "js_get", None)
            if js_get is not None:
                return from_js(js_get(name))
        elif isinstance(target, PyProxy) and name == "destroy":
            return lambda: setattr(target, "destroyed", True)
        if name == "toString":
            return _bound(lambda: _js.to_js_string(target), name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(self._js, JsObject):
            self._js.props[name] = to_js_implicit(value)
            return
        if isinstance(self._js, HostObject) and name in type(self._js).js_members:
            setattr(self._js, name, to_js_implicit(value))
            return
        raise AttributeError(f"cannot set {name!r} on a JavaScript {self._js.js_class}")

    def _map_get(self, key: Any) -> Any:
        return self._js.entries.get(key, UNDEFINED)

    def _map_has(self, key: Any) -> bool:
        return key in self._js.entries

    # -- containers

    def __len__(self) -> int:
        target = self._js
        if isinstance(target, JsArray):
            return len(target.items)
        if isinstance(target, (JsMap, JsSet)):
            return len(target.entries if isinstance(target, JsMap) else target.values)
        if isinstance(target, (JsArrayBuffer, JsUint8Array)):
            return len(target.data)
        raise TypeError(f"object of JavaScript type {target.js_class} has no len()")

    def __iter__(self) -> Iterator[Any]:
        target = self._js
        if isinstance(target, JsArray):
            return (from_js(v) for v in list(target.items))
        if isinstance(target, JsMap):
            return (from_js(k) for k in list(target.entries))
        if isinstance(target, JsSet):
            return (from_js(v) for v in list(target.values))
        if isinstance(target, HostObject) and hasattr(target, "js_iter"):
            return (from_js(v) for v in target.js_iter())
        raise TypeError(f"JavaScript {target.js_class} object is not iterable")

    def __getitem__(self, key: Any) -> Any:
        target = self._js
        if isinstance(target, JsArray) and isinstance(key, int):
            return from_js(target.items[key])
        if isinstance(target, JsMap):
            js_key = to_js_implicit(key)
            if js_key in target.entries:
                return from_js(target.entries[js_key])
            raise KeyError(key)
        if isinstance(target, JsObject) and isinstance(key, str):
            if key in target.props:
                return from_js(target.props[key])
            raise KeyError(key)
        raise TypeError(f"JavaScript {target.js_class} object is not subscriptable")

    def __contains__(self, key: Any) -> bool:
        target = self._js
        if isinstance(target, JsArray):
            return to_js_implicit(key) in target.items
        if isinstance(target, JsMap):
            return to_js_implicit(key) in target.entries
        if isinstance(target, JsSet):
            return to_js_implicit(key) in target.values
        if isinstance(target, JsObject):
            return key in target.props
        raise TypeError(f"JavaScript {target.js_class} object is not a container")

    def object_keys(self) -> JsProxy:
        return JsProxy(JsArray(self._own_props().keys()))

    def object_values(self) -> JsProxy:
        return JsProxy(JsArray(self._own_props().values()))

    def object_entries(self) -> JsProxy:
        return JsProxy(JsArray(JsArray([k, v]) for k, v in self._own_props().items()))

    def _own_props(self) -> dict[str, Any]:
        target = self._js
        if isinstance(target, JsObject):
            return {k: target.props[k] for k in _js.own_keys(target)}
        if isinstance(target, JsArray):
            return {str(i): v for i, v in enumerate(target.items)}
        if isinstance(target, HostObject) and hasattr(target, "js_own_props"):
            props: dict[str, Any] = target.js_own_props()
            return props
        return {}

    # -- calls, promises, conversion

    def to_py(self, *, depth: int = -1, default_converter: DefaultConverter | None = None) -> Any:
        if depth != -1:
            raise NotModelled("to_py(depth=...) is not modelled by pytest-durable; convert fully")
        return to_py(self._js, default_converter)

    def to_bytes(self) -> bytes:
        if isinstance(self._js, (JsArrayBuffer, JsUint8Array)):
            return bytes(self._js.data)
        raise TypeError(f"JavaScript {self._js.js_class} is not a buffer")

    def to_memoryview(self) -> memoryview:
        return memoryview(self.to_bytes())

    def to_string(self, encoding: str | None = None) -> str:
        return self.to_bytes().decode(encoding or "utf-8")


class JsCallableProxy(JsProxy):
    """A JavaScript function seen from Python."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = self._js
        if isinstance(target, JsFunction):
            return call_js(target.fn, args, kwargs)
        if isinstance(target, PyProxy) and callable(target.obj):
            return target.obj(*args, **kwargs)
        raise TypeError(f"JavaScript {target.js_class} object is not callable")



class JsPromiseProxy(JsProxy):
    """A JavaScript promise seen from Python: awaitable."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, Any]:
        target = self._js
        if not isinstance(target, JsPromise):
            raise TypeError(f"object JsProxy of a JavaScript {target.js_class} can't be awaited")
        return from_js((yield from target.wait()))


def _bound(fn: Callable[..., Any], name: str) -> JsProxy:
    return JsProxy(JsFunction(fn, name))


class JsClass(JsFunction):
    """A JavaScript class (``js.Date``, ``js.Object``, ...): ``X.new(...)``
    constructs, other attributes are its static members."""

    __slots__ = ("construct", "statics")

    def __init__(
        self,
        name: str,
        construct: Callable[..., Any] | None = None,
        statics: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(self._call, name)
        self.construct = construct or self._not_constructible
        self.statics: dict[str, Any] = statics or {}

    def _call(self, *args: Any) -> Any:
        raise JsException(
            "TypeError",
            f"Class constructor {self.name} cannot be invoked without 'new'",
        )

    def _not_constructible(self, *args: Any) -> Any:
        raise JsException("TypeError", "Illegal constructor")


def create_proxy(obj: Any, **unsupported: Any) -> JsProxy:
    """``pyodide.ffi.create_proxy``: a JavaScript handle on a Python object
    that lives until ``destroy()``."""
    if unsupported:
        names = ", ".join(sorted(unsupported))
        raise NotModelled(
            f"create_proxy() option(s) not modelled by pytest-durable: {names}"
        )
    return JsProxy(PyProxy(obj))


def create_once_callable(obj: Callable[..., Any], **unsupported: Any) -> JsProxy:
    """``pyodide.ffi.create_once_callable``: a JavaScript function that may
    be called once and then destroys itself."""
    if unsupported:
        names = ", ".join(sorted(unsupported))
        raise NotModelled(
            f"create_once_callable() option(s) not modelled by pytest-durable: {names}"
        )
    state = {"called": False}

    def once(*args: Any) -> Any:
        if state["called"]:
            raise JsException(
                "Error",
                "This borrowed proxy was automatically destroyed at the end of a "
                "function call. Try using create_proxy or create_once_callable.",
            )
        state["called"] = True
        return to_js_implicit(obj(*(from_js(a) for a in args)))

    return JsProxy(JsFunction(once, getattr(obj, "__name__", "")))
