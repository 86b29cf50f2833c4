"""The Worker itself: its default entrypoint, called the way a client would.

``WorkerStub`` is the runtime's view of the Worker's default export: a
``WorkerEntrypoint`` subclass named ``Default`` (constructed for every
event with ``(ctx, env)``, as the runtime does), or, in older Workers, a
module-level ``on_fetch(request, env[, ctx])``. Its ``fetch`` is what a
client's request reaches; every other public method is RPC, with the same
conversions as a Durable Object stub. ``WorkerTransport`` lets an
``httpx.AsyncClient`` talk to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from . import _errors
from ._errors import JsException, NotModelled
from ._handlers import relaxed_call, run_fetch, run_rpc, transfer
from ._http import JsRequest, JsResponse, Request
from ._js import UNDEFINED, HostObject, JsArray, JsFunction
from ._namespace import RESERVED_NAMES
from ._objects import python_error, remote_error
from ._outbound import as_httpx_response, from_httpx_request
from ._pyodide import JsPromise, JsProxy

if TYPE_CHECKING:
    from ._compat import Compat
    from ._simulation import Simulation

__all__ = ["BASE_URL", "WorkerStub", "WorkerTransport", "find_entrypoint"]

BASE_URL: Final = "https://example.com"
"""What relative URLs given to the Worker fixture are resolved against."""


def find_entrypoint(module: ModuleType, compat: Compat) -> Any:
    """The default export of a Worker's main module, or None. A class
    ``Default`` wins over a module-level ``on_fetch``, which the runtime only
    calls while ``python_no_global_handlers`` is off."""
    from ._shims.workers import WorkerEntrypoint

    default = getattr(module, "Default", None)
    if isinstance(default, type) and issubclass(default, WorkerEntrypoint):
        return default
    handler = getattr(module, "on_fetch", None)
    if callable(handler) and not compat["python_no_global_handlers"]:
        return handler
    return None


_T = TypeVar("_T")


class ExecutionContext(HostObject):
    """``ctx`` of a Worker event."""

    js_class = "ExecutionContext"
    js_members = frozenset({"waitUntil", "passThroughOnException", "props"})

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self.props = UNDEFINED

    def waitUntil(self, promise: Any) -> Any:
        self._simulation.wait_until(promise)
        return UNDEFINED

    def passThroughOnException(self) -> Any:
        raise NotModelled(
            "ctx.passThroughOnException() is not modelled by pytest-durable: there is no "
            "origin behind a simulated Worker"
        )


class WorkerStub(HostObject):
    """The Worker's default export, as a service binding would reach it."""

    js_class = "Fetcher"
    js_members = frozenset({"fetch"})

    def __init__(self, simulation: Simulation, entrypoint: Any) -> None:
        self._simulation = simulation
        self._entrypoint = entrypoint

    def _handler_name(self, handler: str) -> str:
        if self._simulation.compat["python_no_global_handlers"]:
            return handler
        return f"on_{handler}"

    def _instance(self) -> Any:
        ctx = JsProxy(ExecutionContext(self._simulation))
        return self._entrypoint(ctx, self._simulation.env)

    def fetch(self, input: Any, init: Any = UNDEFINED) -> JsPromise:
        try:
            request = JsRequest.construct(input, init)
        except JsException as exc:
            return JsPromise.reject(exc)
        return JsPromise(asyncio.ensure_future(self.dispatch(request)))

    async def dispatch(self, request: JsRequest) -> JsResponse:
        """Run the Worker's fetch handler on ``request``."""
        if isinstance(self._entrypoint, type):
            name = self._handler_name("fetch")
            handler = getattr(self._instance(), name, None)
            return await _as_caller_sees(run_fetch(handler, name, request))
        return await _as_caller_sees(run_fetch(self._global_handler, "on_fetch", request))

    def _global_handler(self, request: Request) -> Any:
        # The runtime calls a module-level handler with the JavaScript request
        # and env themselves; only the SDK's @handler turns them into
        # workers.Request and the wrapped env.
        env = self._simulation.env._env
        ctx = JsProxy(ExecutionContext(self._simulation))
        return relaxed_call(self._entrypoint, request.js_object, env, ctx)

    def js_get(self, name: str) -> Any:
        """Every other property is an RPC method of the entrypoint class."""
        return JsFunction(lambda *args: self._call(name, args), name)

    def _call(self, name: str, args: tuple[Any, ...]) -> JsPromise:
        async def run() -> Any:
            if name in RESERVED_NAMES:  # workerd's, for every kind of entrypoint
                raise _errors.type_error(_errors.RESERVED_METHOD.format(name=name))
            if not isinstance(self._entrypoint, type):
                raise _errors.type_error(_errors.METHOD_DOES_NOT_EXIST.format(name=name))
            sent = transfer(JsArray(args))
            return await _as_caller_sees(run_rpc(self._instance(), name, sent))

        return JsPromise(asyncio.ensure_future(run()))


async def _as_caller_sees(event: Awaitable[_T]) -> _T:
    """Await an event of the Worker; what escapes it reaches the caller as
    the runtime delivers it (the simulator's own NotModelled as it is)."""
    try:
        return await event
    except NotModelled:
        raise
    except JsException as exc:
        raise remote_error(exc) from None
    except Exception as exc:
        raise python_error(exc) from exc


class WorkerTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose requests reach the simulated Worker."""

    def __init__(self, worker: WorkerStub) -> None:
        self._worker = worker

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self._worker.dispatch(from_httpx_request(request, body))
        return as_httpx_response(response, request)


class WorkerFixture:
    """The ``durable_worker`` fixture: the Worker as a client calls it.

    ``await worker.fetch("/path", method=..., headers=..., body=...)``
    returns its ``Response`` (relative URLs resolve against ``BASE_URL``);
    any other attribute is an RPC method of the entrypoint class.
    """

    def __init__(self, stub: WorkerStub) -> None:
        from ._namespace import StubWrapper

        self._stub = stub
        self._wrapper = StubWrapper(JsProxy(stub))

    async def fetch(self, url: Any, **init: Any) -> Any:
        if isinstance(url, str) and not urlsplit(url).scheme:
            url = urljoin(BASE_URL, url)
        return await self._wrapper.fetch(url, **init)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapper, name)

    def transport(self) -> WorkerTransport:
        """An httpx transport that reaches this Worker."""
        return WorkerTransport(self._stub)
