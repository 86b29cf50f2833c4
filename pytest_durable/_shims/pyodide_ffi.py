"""``pyodide.ffi``: the foreign function interface."""

from __future__ import annotations

from typing import Any

from .._errors import JsException, NotModelled
from .._pyodide import (
    JsNull,
    JsProxy,
    create_once_callable,
    create_proxy,
    jsnull,
    to_js,
)

JsBuffer = JsProxy
JsArray = JsProxy
JsMap = JsProxy
JsCallable = JsProxy
JsPromise = JsProxy

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
