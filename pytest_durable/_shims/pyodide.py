"""``import pyodide``: the parts of Pyodide Worker code uses."""

from __future__ import annotations

from . import pyodide_code as code
from . import pyodide_ffi as ffi
from . import pyodide_http as http

__version__ = "0.28.2"
__all__ = ["code", "ffi", "http"]
