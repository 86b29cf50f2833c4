"""What runs when an event reaches Python code, shared by Durable Objects
and the Worker's entrypoint: the fetch handler and RPC methods, with the
SDK's conversions, the RPC message limit and the runtime's checks.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Final

from . import _errors
from ._errors import NotModelled
from ._http import JsRequest, JsResponse, Request
from ._js import (
    JsArray,
    JsFunction,
    JsMap,
    JsObject,
    JsSet,
    PyProxy,
    serialized_size,
    structured_clone,
)
from ._pyodide import JsProxy, from_js, to_js_implicit
from ._rpc import python_from_rpc, python_to_rpc

__all__ = ["hand_over_websocket", "relaxed_call", "run_fetch", "run_rpc", "transfer"]

MAX_RPC_MESSAGE_SIZE: Final = 32 * 1024 * 1024


async def run_fetch(
    handler: Callable[..., Any] | None, name: str, request: JsRequest, *extra: Any
) -> JsResponse:
    """Call a fetch handler (relaxed: it may take fewer arguments) with the
    request as ``workers.Request``; returns the runtime's response."""
    if not callable(handler):
        raise _errors.type_error(_errors.METHOD_DOES_NOT_EXIST.format(name=name))
    result = relaxed_call(handler, Request(JsProxy(request)), *extra)
    if inspect.isawaitable(result):
        result = await result
    response = to_js_implicit(python_to_rpc(result))
    if not isinstance(response, JsResponse):
        raise _errors.type_error(
            "Incorrect type for Promise: the Promise did not resolve to 'Response'."
        )
    hand_over_websocket(response)
    if request.method == "HEAD":
        response._body = None  # a HEAD response carries no body to its caller
    return response


async def run_rpc(obj: Any, name: str, sent: JsArray) -> Any:
    """Call an RPC method with arguments that crossed RPC; returns the
    result as it crosses back."""
    method = getattr(obj, name, None)
    if not callable(method):
        raise _errors.type_error(_errors.METHOD_DOES_NOT_EXIST.format(name=name))
    result = method(*(python_from_rpc(from_js(a)) for a in sent.items))
    if inspect.isawaitable(result):
        result = await result
    return transfer(to_js_implicit(python_to_rpc(result)))


def relaxed_call(fn: Callable[..., Any], *args: Any) -> Any:
    """``pyodide.code.relaxed_call``: drop positional arguments the function
    does not take."""
    function = getattr(fn, "__func__", fn)
    try:
        taken = _positional_count(function)
    except TypeError:  # an unhashable callable: no cache for it
        taken = _positional_count.__wrapped__(function)
    if taken is None:
        return fn(*args)
    if hasattr(fn, "__func__"):
        taken -= 1  # the bound method's self
    return fn(*args[:taken])


@functools.lru_cache(maxsize=1024)
def _positional_count(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` takes (None: any number)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def transfer(value: Any) -> Any:
    """Serialize and deserialize a value crossing RPC, with its size limit."""
    if _holds_function(value):
        raise NotModelled(
            "passing a function over RPC (the runtime sends a stub that calls back) is not "
            "modelled by pytest-durable"
        )
    if _contains(value, lambda v: getattr(v, "js_class", None) in ("DurableObject", "Fetcher")):
        raise NotModelled(
            "passing a stub over RPC (the runtime sends a stub the receiver can call) is not "
            "modelled by pytest-durable; send the id (id.toString()) and call ns.get() there"
        )
    if _holds_message(value):
        raise NotModelled(
            "passing a Request or Response over RPC (the runtime streams its body) is not "
            "modelled by pytest-durable; send the parts (url, headers, text) instead"
        )
    clone = structured_clone(value)
    size = serialized_size(clone)
    if size > MAX_RPC_MESSAGE_SIZE:
        raise _errors.error(_errors.RPC_TOO_LARGE.format(limit="32MiB", size=size))
    return clone


def _holds_function(value: Any) -> bool:
    return _contains(
        value,
        lambda v: isinstance(v, JsFunction) or (isinstance(v, PyProxy) and callable(v.obj)),
    )


def _holds_message(value: Any) -> bool:
    return _contains(value, lambda v: isinstance(v, (JsRequest, JsResponse)))


def _contains(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether ``value`` or anything inside it passes ``test``."""
    if test(value):
        return True
    if isinstance(value, JsArray):
        children: Iterable[Any] = value.items
    elif isinstance(value, JsObject):
        children = value.props.values()
    elif isinstance(value, JsMap):
        children = value.entries.values()
    elif isinstance(value, JsSet):
        children = value.values
    else:
        return False
    return any(_contains(child, test) for child in children)


def hand_over_websocket(response: JsResponse) -> None:
    """A 101 response gives its socket to the caller, as the runtime couples it."""
    from ._websocket import WebSocket

    ws = response.webSocket
    if not isinstance(ws, WebSocket):
        return
    if ws.mode == "hibernatable":
        raise _errors.type_error(_errors.WS_RETURNED_AFTER_ACCEPT_WEBSOCKET)
    if ws.mode == "standard":
        raise _errors.type_error(_errors.WS_RETURNED_AFTER_ACCEPT)
    if ws.used_in_response:
        raise _errors.type_error(_errors.WS_RETURNED_TWICE)
    ws.used_in_response = True


def websocket_reaches_caller(response: JsResponse) -> JsResponse:
    """The caller of a fetch gets a WebSocket object of its own for the end a
    101 response carried: unused, so a Worker may pass it on in its own
    Response, as it can in production."""
    from ._websocket import WebSocket

    if isinstance(response.webSocket, WebSocket):
        response.webSocket.used_in_response = False
    return response
