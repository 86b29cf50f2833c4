"""``import workers``: the Python Workers SDK as Durable Object code uses it.

Names the SDK exports but the simulator does not model (``Blob``, ``File``,
``FormData``, ``WorkflowEntrypoint``, ``patch_env``, ``import_from_javascript``,
and the module-level ``env``, ``waitUntil`` and ``wait_until``) raise
``NotModelled`` (a ``NotImplementedError``) when used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http import HTTPMethod
from typing import Any, Protocol, TypeAlias

from .._errors import NotModelled
from .._http import FetchResponse, HTTPMessageMapping, Request, Response
from .._pyodide import JsProxy
from .._rpc import JsDict, python_from_rpc, python_to_rpc
from .pyodide_http import pyfetch

__all__ = [
    "Body",
    "Context",
    "DurableObject",
    "FetchKwargs",
    "FetchResponse",
    "Headers",
    "JSBody",
    "JsDict",
    "Request",
    "Response",
    "WorkerEntrypoint",
    "fetch",
    "handler",
    "python_from_rpc",
    "python_to_rpc",
]

Body: TypeAlias = Any
JSBody: TypeAlias = Any
Headers: TypeAlias = "dict[str, str] | list[tuple[str, str]] | HTTPMessageMapping | JsProxy"
FetchKwargs: TypeAlias = dict[str, Any]


class Context(Protocol):
    def waitUntil(self, other: Any) -> None: ...


class DurableObject:
    """Base class of a Durable Object: the runtime constructs it with
    ``(ctx, env)`` on the first event to its id."""

    ctx: Any
    env: Any

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


class WorkerEntrypoint:
    """Base class of a Worker's entrypoint."""

    ctx: Any
    env: Any

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


async def fetch(resource: Any, **other_options: Any) -> Response:
    """``workers.fetch``: outbound fetch (through httpx, see the docs on
    configuration), or a stub's fetch with ``fetcher=``."""
    if isinstance(resource, Request):
        resource = resource.js_object
    if isinstance(other_options.get("method"), HTTPMethod):
        other_options["method"] = other_options["method"].value
    response = await pyfetch(resource, **other_options)
    return Response(response.js_response)


def handler(func: Callable[..., Any]) -> Callable[..., Any]:
    """The SDK's ``@handler``: a request argument arrives as ``Request`` and
    ``env`` wrapped."""
    from .._simulation import EnvWrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], JsProxy) and args[0]._js.js_class == "Request":
            args = (Request(args[0]), *args[1:])
        if len(args) > 1 and isinstance(args[1], JsProxy):
            args = (args[0], EnvWrapper(args[1]), *args[2:])
        return func(*args, **kwargs)

    return wrapper


_NOT_MODELLED = {
    "Blob", "BlobEnding", "BlobValue", "File", "FormData", "FormDataValue",
    "RequestInitCfProperties", "WorkflowEntrypoint", "import_from_javascript", "patch_env",
    "env", "waitUntil", "wait_until",
}


def __getattr__(name: str) -> Any:
    if name in _NOT_MODELLED:
        raise NotModelled(f"workers.{name} is not modelled by pytest-durable")
    raise AttributeError(f"module 'workers' has no attribute {name!r}")



