"""pytest-durable: test Cloudflare Python Durable Objects under CPython.

The pytest plugin (``pytest_durable.plugin``) gives the fixtures; this
package exports the few names a test or script types.
"""

from __future__ import annotations

from ._alarms import AlarmHistory, AlarmRun
from ._clock import Clock
from ._compat import Compat
from ._errors import DurableObjectAbort, JsException, NotModelled
from ._loop import DeadlockError, DurableEventLoop
from ._outbound import OutboundFetchBlocked
from ._shims import install
from ._simulation import Simulation
from ._timecontrol import TimeControl
from ._websocket import ConnectionClosed, HandlerCalls, WebSocketClient

__all__ = [
    "AlarmHistory",
    "AlarmRun",
    "Clock",
    "Compat",
    "ConnectionClosed",
    "DeadlockError",
    "DurableEventLoop",
    "DurableObjectAbort",
    "HandlerCalls",
    "JsException",
    "NotModelled",
    "OutboundFetchBlocked",
    "Simulation",
    "TimeControl",
    "WebSocketClient",
    "install",
]
