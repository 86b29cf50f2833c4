"""pytest-durable: test Cloudflare Python Durable Objects under CPython.

The pytest plugin (``pytest_durable.plugin``) gives the fixtures; this
package exports the few names a test or script types.
"""

from __future__ import annotations

from ._clock import Clock
from ._compat import Compat
from ._errors import DurableObjectAbort, JsException
from ._shims import install
from ._simulation import Simulation

__all__ = ["Clock", "Compat", "DurableObjectAbort", "JsException", "Simulation", "install"]
