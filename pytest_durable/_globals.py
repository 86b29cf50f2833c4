"""The JavaScript globals Worker code reaches through ``import js``.

Each global is a ``JsProxy`` over a simulated JavaScript value. ``Date``
reads the clock of the running simulation.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Iterable
from typing import Any, Final, cast

from ._errors import JsException, NotModelled
from ._http import JsHeaders, JsRequest, JsResponse
from ._js import (
    UNDEFINED,
    JsArray,
    JsDate,
    JsErrorValue,
    JsFunction,
    JsMap,
    JsObject,
    PyProxy,
    to_js_string,
)
from ._pyodide import JsClass, JsPromise, JsProxy, to_js_implicit
from ._websocket import WebSocketPair, WebSocketRequestResponsePair

__all__ = ["GLOBALS", "OBJECT_FROM_ENTRIES"]


def _now_ms() -> float:
    from ._simulation import current_simulation

    return current_simulation().clock.now_ms()


def _new_date(value: Any = UNDEFINED, *rest: Any) -> JsDate:
    if rest:
        raise NotModelled(
            "new Date(year, month, ...) is not modelled by pytest-durable; "
            "pass milliseconds or an ISO 8601 string"
        )
    if value is UNDEFINED:
        return JsDate(_now_ms())
    if isinstance(value, float):
        return JsDate(value)
    if isinstance(value, JsDate):
        return JsDate(value.ms)
    if isinstance(value, str):
        try:
            moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return JsDate(float("nan"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_dt.UTC)
        return JsDate(moment.timestamp() * 1000)
    raise NotModelled(
        f"new Date({to_js_string(value)!r}) is not modelled by pytest-durable"
    )


def _entries(iterable: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(iterable, JsMap):
        return iterable.entries.items()
    if isinstance(iterable, JsArray):
        pairs = []
        for pair in iterable.items:
            items = pair.items if isinstance(pair, JsArray) else None
            if items is None or len(items) < 2:
                raise JsException("TypeError", "Iterator value is not an entry object")
            pairs.append((items[0], items[1]))
        return pairs
    if isinstance(iterable, PyProxy):
        pyproxy_pairs = cast("Iterable[Any]", iterable.obj)
        return [(to_js_implicit(k), to_js_implicit(v)) for k, v in pyproxy_pairs]
    raise JsException("TypeError", f"{to_js_string(iterable)} is not iterable")


def _from_entries(iterable: Any) -> JsObject:
    return JsObject({to_js_string(k): v for k, v in _entries(iterable)})


def _own_props(value: Any) -> dict[str, Any]:
    if isinstance(value, JsObject):
        return value.props
    if isinstance(value, JsArray):
        return {str(i): v for i, v in enumerate(value.items)}
    return {}


def _console(level: str) -> JsFunction:
    def log(*args: Any) -> Any:
        stream = sys.stderr if level in ("error", "warn") else sys.stdout
        print(" ".join(to_js_string(a) for a in args), file=stream)
        return UNDEFINED

    return JsFunction(log, level)


class _Console(JsObject):
    def __init__(self) -> None:
        levels = ("log", "info", "debug", "warn", "error")
        super().__init__({name: _console(name) for name in levels})


def _fetch(input: Any, init: Any = UNDEFINED) -> JsPromise:
    """The global ``fetch``: outbound requests, through httpx."""
    import asyncio

    from ._outbound import send
    from ._simulation import current_simulation

    try:
        request = JsRequest.construct(input, init)
    except JsException as exc:
        return JsPromise.reject(exc)
    simulation = current_simulation()
    sending = send(request, simulation.fetch_transport, simulation.blocked_fetches)
    return JsPromise(asyncio.ensure_future(sending))


OBJECT_FROM_ENTRIES: Final = JsProxy(JsFunction(_from_entries, "fromEntries"))

GLOBALS: Final[dict[str, JsProxy]] = {
    "Date": JsProxy(JsClass("Date", _new_date, {"now": JsFunction(_now_ms, "now")})),
    "Object": JsProxy(
        JsClass(
            "Object",
            lambda *args: JsObject(),
            {
                "fromEntries": OBJECT_FROM_ENTRIES._js,
                "keys": JsFunction(lambda v: JsArray(_own_props(v).keys()), "keys"),
                "values": JsFunction(lambda v: JsArray(_own_props(v).values()), "values"),
                "entries": JsFunction(
                    lambda v: JsArray(JsArray([k, x]) for k, x in _own_props(v).items()), "entries"
                ),
            },
        )
    ),
    "Array": JsProxy(
        JsClass(
            "Array",
            lambda *args: JsArray(args),
            {
                "isArray": JsFunction(lambda v: isinstance(v, JsArray), "isArray"),
                "of": JsFunction(lambda *args: JsArray(args), "of"),
            },
        )
    ),
    "Error": JsProxy(
        JsClass("Error", lambda message=UNDEFINED, *rest: JsErrorValue(
            "Error", "" if message is UNDEFINED else to_js_string(message)))
    ),
    "Headers": JsProxy(JsClass("Headers", JsHeaders)),
    "Request": JsProxy(JsClass("Request", JsRequest.construct)),
    "Response": JsProxy(JsClass("Response", JsResponse.construct)),
    "console": JsProxy(_Console()),
    "fetch": JsProxy(JsFunction(_fetch, "fetch")),
    "WebSocketPair": JsProxy(JsClass("WebSocketPair", lambda *args: WebSocketPair())),
    "WebSocketRequestResponsePair": JsProxy(
        JsClass("WebSocketRequestResponsePair", WebSocketRequestResponsePair)
    ),
}
