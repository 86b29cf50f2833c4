"""Stand-ins for the modules Worker code imports inside Cloudflare's runtime.

``install()`` makes ``import workers``, ``import js`` and ``import pyodide``
(``pyodide.ffi``, ``pyodide.http``, ``pyodide.code``) resolve to these
modules, even where the real ``workers-runtime-sdk`` is installed: that
package only imports inside the runtime.
"""

from __future__ import annotations

import importlib
import sys
from typing import Final

__all__ = ["MODULES", "install"]

MODULES: Final = {
    "workers": "pytest_durable._shims.workers",
    "js": "pytest_durable._shims.js",
    "pyodide": "pytest_durable._shims.pyodide",
    "pyodide.ffi": "pytest_durable._shims.pyodide_ffi",
    "pyodide.http": "pytest_durable._shims.pyodide_http",
    "pyodide.code": "pytest_durable._shims.pyodide_code",
}


def install() -> None:
    """Point the runtime's module names at the stand-ins (idempotent)."""
    for name, target in MODULES.items():
        module = importlib.import_module(target)
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
