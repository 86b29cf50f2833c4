"""The Python Workers SDK's conversions at the RPC boundary.

``python_to_rpc`` and ``python_from_rpc`` behave as the ``workers`` SDK's
functions of the same names: they decide what a stub argument, an RPC result
or a stored value becomes on the other side. ``BindingWrapper`` is the SDK's
wrapper around bindings such as ``ctx.storage``: arguments go through
``python_to_rpc``, keyword arguments become a trailing options object, and
results come back through ``python_from_rpc``.

One deliberate difference: the SDK turns a naive ``datetime`` into a time and
back with the machine's local time zone, which in Workers is always UTC. The
simulator uses UTC whatever the test machine's zone, so results match
production.
"""

from __future__ import annotations

import collections.abc
import datetime as _dt
import inspect
from collections.abc import Callable, Generator
from typing import Any

from . import _js
from ._errors import AWAITABLE_OVER_RPC, CANNOT_SEND_OVER_RPC
from ._js import JsDate, JsErrorValue
from ._pyodide import (
    JsPromise,
    JsProxy,
    create_proxy,
    from_js,
    jsnull,
    to_js,
    to_js_implicit,
)

__all__ = ["BindingWrapper", "JsDict", "python_from_rpc", "python_to_rpc"]


class JsDict(dict[Any, Any]):
    """A dict whose keys also read as attributes, as the SDK returns them."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


# -- JavaScript to Python --------------------------------------------------------


def python_from_rpc(value: Any) -> Any:
    """Convert a value received from JavaScript (already implicitly
    converted, so objects are ``JsProxy``) into Python values."""
    if value is jsnull:
        return None
    if not isinstance(value, JsProxy):
        return value
    target = value._js
    if isinstance(target, _js.HostObject) and target.js_class not in ("Request", "Response"):
        return value  # what to_py would give back for it, without the walk
    return _replace_jsnull(value.to_py(default_converter=_from_rpc_default))


def _from_rpc_default(value: JsProxy, convert: Any, cache: Any) -> Any:
    from . import _http

    target = value._js
    if isinstance(target, JsDate):
        return _datetime_from_ms(target.ms)
    if isinstance(target, JsErrorValue):
        return Exception(target.toString())
    if isinstance(target, _http.JsResponse):
        return _http.Response(value)
    if isinstance(target, _http.JsRequest):
        return _http.Request(value)
    return value


def _replace_jsnull(obj: Any) -> Any:
    if obj is jsnull:
        return None
    if isinstance(obj, dict):
        return JsDict({k: _replace_jsnull(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return [_replace_jsnull(v) for v in obj]
    return obj


def _datetime_from_ms(ms: float) -> _dt.datetime:
    # Workers run in UTC: the SDK's naive fromtimestamp() is UTC there.
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    return moment.replace(tzinfo=None)


def datetime_to_ms(moment: _dt.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp() * 1000


# -- Python to JavaScript --------------------------------------------------------


def python_to_rpc(value: Any) -> Any:
    """Convert a Python value for sending to JavaScript; the result is what
    Python holds of it (a ``JsProxy`` for objects)."""
    if value is None:
        return jsnull
    kind = type(value)
    if kind is str or kind is bool:
        return value
    if kind is int or kind is float:
        return from_js(to_js_implicit(value))  # what to_js gives for a number
    if isinstance(value, BindingWrapper):
        return value._binding
    value = _replace_none(value)
    _raise_on_disabled_type(value)
    from ._globals import OBJECT_FROM_ENTRIES

    return to_js(
        value,
        default_converter=_to_rpc_default,
        dict_converter=OBJECT_FROM_ENTRIES,
    )


def _replace_none(value: Any) -> Any:
    if value is None:
        return jsnull
    if isinstance(value, dict):
        return {k: _replace_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_none(v) for v in value]
    return value


def _raise_on_disabled_type(value: Any) -> None:
    if isinstance(value, BindingWrapper):
        return
    if callable(value) and not isinstance(value, type):
        return
    if isinstance(value, (tuple, bytearray)):
        raise TypeError(CANNOT_SEND_OVER_RPC.format(type=type(value)))
    if inspect.isawaitable(value):
        raise TypeError(AWAITABLE_OVER_RPC.format(type=type(value)))
    if isinstance(value, (str, bytes)) or not _is_iterable(value):
        return
    for item in value.values() if isinstance(value, dict) else value:
        _raise_on_disabled_type(item)


def _is_iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _to_rpc_default(obj: Any, convert: Any, cache: Any) -> Any:
    from . import _http

    if obj is None:
        return jsnull
    if isinstance(obj, BindingWrapper):
        return obj._binding
    if isinstance(obj, (_http.Response, _http.Request)):
        return obj.js_object
    if isinstance(obj, _dt.datetime):
        return JsProxy(JsDate(datetime_to_ms(obj)))
    if isinstance(obj, Exception):
        return JsProxy(JsErrorValue("Error", str(obj)))
    if callable(obj) and not isinstance(obj, type):
        # As the SDK does: JavaScript that calls it and awaits the result
        # (a transaction closure, say) runs a coroutine function to the end.
        return create_proxy(obj)
    _raise_on_disabled_type(obj)
    return obj


# -- the binding wrapper ---------------------------------------------------------


class ConvertedResult(collections.abc.Coroutine[Any, Any, Any]):
    """A JavaScript result that converts through ``python_from_rpc`` once it
    settles: what the SDK's wrapper methods return.

    The JavaScript call has already been made when this exists, so a write
    that is never awaited still happens, as in production. It is a coroutine
    (``asyncio.create_task`` takes it, as it takes the SDK's), but dropping it
    unawaited warns about nothing: a Python coroutine object would.
    """

    __slots__ = ("_convert", "_promise", "_steps")

    def __init__(self, promise: JsPromise, convert: Callable[[Any], Any]) -> None:
        self._promise = promise
        self._convert = convert
        self._steps: Generator[Any, Any, Any] | None = None

    def _run(self) -> Generator[Any, Any, Any]:
        return self._convert(from_js((yield from self._promise.wait())))

    def _generator(self) -> Generator[Any, Any, Any]:
        if self._steps is None:
            self._steps = self._run()
        return self._steps

    def __await__(self) -> Generator[Any, Any, Any]:
        return self._generator()

    def send(self, value: Any) -> Any:
        return self._generator().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        return self._generator().throw(typ, val, tb)

    def close(self) -> None:
        if self._steps is not None:
            self._steps.close()


class BindingWrapper:
    """The SDK's ``_BindingWrapper``: converts arguments and results around
    every member of a JavaScript binding."""

    __slots__ = ("__dict__", "_binding")

    def __init__(self, binding: JsProxy) -> None:
        self._binding = binding

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._binding, name)
        result = self._method(attr) if callable(attr) else self._convert_result(attr)
        self.__dict__[name] = result
        return result

    def _method(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return self._invoke(fn, args, kwargs)

        return wrapper

    def _invoke(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        js_args = [python_to_rpc(a) for a in args]
        js_kwargs = {k: python_to_rpc(v) for k, v in kwargs.items()}
        result = fn(*js_args, **js_kwargs)
        if isinstance(result, JsProxy) and isinstance(result._js, JsPromise):
            return ConvertedResult(result._js, self._convert_result)
        return self._convert_result(result)

    def _convert_result(self, result: Any) -> Any:
        converted = python_from_rpc(result)
        if isinstance(converted, list):
            return [self._wrap(item) for item in converted]
        return self._wrap(converted)

    def _wrap(self, value: Any) -> Any:
        if not isinstance(value, JsProxy) or not isinstance(value._js, _js.HostObject):
            return value
        return type(self)(value)

    def __iter__(self) -> Any:
        for item in self._binding:
            yield self._convert_result(item)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._binding._js.js_class}>"
