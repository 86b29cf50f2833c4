"""pytest-durable: test Cloudflare Python Durable Objects under CPython.

The pytest plugin (``pytest_durable.plugin``) gives the fixtures; this
package exports the few names a test or script types.
"""

from __future__ import annotations

from ._clock import Clock
from ._compat import Compat
from ._alarms import AlarmHistory, AlarmRun
from ._errors import DurableObjectAbort, JsException
from ._loop import DurableEventLoop
from ._shims import install
from ._simulation import Simulation
from ._timecontrol import TimeControl

__all__ = [
    "AlarmHistory",
    "AlarmRun",
    "Clock",
    "Compat",
    "DurableEventLoop",
    "DurableObjectAbort",
    "JsException",
    "Simulation",
    "TimeControl",
    "install",
]
