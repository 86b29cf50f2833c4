"""``pyodide.ffi``: the foreign function interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _js, _pyodide
from .._errors import JsException, NotModelled
from .._pyodide import (
    JsNull,
    JsProxy,
    create_once_callable,
    create_proxy,
    jsnull,
    to_js,
)


class _JsKind(type):
    """``isinstance(x, JsArray)`` asks what JavaScript value ``x`` holds,
    as Pyodide's proxy types answer it."""

    _test: Callable[[Any], bool]

    def __instancecheck__(cls, value: Any) -> bool:
        return isinstance(value, JsProxy) and cls._test(value._js)


def _kind(name: str, test: Callable[[Any], bool]) -> type:
    return _JsKind(name, (), {"_test": staticmethod(test), "__module__": __name__})


JsArray = _kind("JsArray", lambda v: isinstance(v, _js.JsArray))
JsMap = _kind("JsMap", lambda v: isinstance(v, _js.JsMap))
JsBuffer = _kind("JsBuffer", lambda v: isinstance(v, (_js.JsArrayBuffer, _js.JsUint8Array)))
JsCallable = _kind("JsCallable", lambda v: _js.js_typeof(v) == "function")
JsPromise = _kind("JsPromise", lambda v: isinstance(v, _pyodide.JsPromise))

__all__ = [
    "JsArray",
    "JsBuffer",
    "JsCallable",
    "JsException",
    "JsMap",
    "JsNull",
    "JsPromise",
    "JsProxy",
    "create_once_callable",
    "create_proxy",
    "destroy_proxies",
    "jsnull",
    "to_js",
]


def destroy_proxies(proxies: Any) -> None:
    for proxy in proxies:
        proxy.destroy()


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotModelled(f"pyodide.ffi.{name} is not modelled by pytest-durable")
