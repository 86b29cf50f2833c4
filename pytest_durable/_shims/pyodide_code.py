"""``pyodide.code``."""

from __future__ import annotations

from .._handlers import relaxed_call

__all__ = ["relaxed_call"]
