"""``import js``: the JavaScript global scope, as far as it is modelled.

A global that is not modelled raises ``NotImplementedError`` naming it.
"""

from __future__ import annotations

from typing import Any

from .._errors import NotModelled
from .._globals import GLOBALS

Date = GLOBALS["Date"]
Object = GLOBALS["Object"]
Array = GLOBALS["Array"]
Error = GLOBALS["Error"]
Headers = GLOBALS["Headers"]
Request = GLOBALS["Request"]
Response = GLOBALS["Response"]
console = GLOBALS["console"]
fetch = GLOBALS["fetch"]
WebSocketPair = GLOBALS["WebSocketPair"]
WebSocketRequestResponsePair = GLOBALS["WebSocketRequestResponsePair"]


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotModelled(
        f"js.{name} is not modelled by pytest-durable; the modelled globals are "
        f"{', '.join(sorted(GLOBALS))}"
    )
