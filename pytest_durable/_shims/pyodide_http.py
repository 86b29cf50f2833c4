"""``pyodide.http``: ``pyfetch`` and ``FetchResponse``."""

from __future__ import annotations

from typing import Any

from .._errors import JsException
from .._http import FetchResponse
from .._pyodide import JsProxy, to_js

__all__ = ["AbortError", "FetchResponse", "pyfetch"]


class AbortError(OSError):
    """A fetch that the runtime rejected (``pyodide.http.AbortError``)."""


async def pyfetch(url: Any, **kwargs: Any) -> FetchResponse:
    """Fetch ``url`` with a JavaScript ``fetcher`` (a stub's or the global
    one); a rejection becomes ``AbortError`` carrying the JavaScript message."""
    from .._globals import OBJECT_FROM_ENTRIES
    from . import js

    fetcher: Any = kwargs.pop("fetcher", None) or js.fetch
    try:
        response: JsProxy = await fetcher(url, to_js(kwargs, dict_converter=OBJECT_FROM_ENTRIES))
    except JsException as exc:
        raise AbortError(exc.message) from None
    return FetchResponse(str(url), response)
