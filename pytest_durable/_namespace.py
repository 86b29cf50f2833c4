"""Namespaces, stubs and RPC.

``Namespace`` is the runtime's ``DurableObjectNamespace`` (the binding on
``env``): it makes ids and stubs and keeps an ``ObjectHost`` per id.
``DurableObjectStub`` is the runtime's stub. ``NamespaceWrapper`` and
``StubWrapper`` are what Python code holds of them, as the SDK wraps them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from . import _errors
from ._compat import Compat
from ._errors import JsException
from ._handlers import run_fetch, run_rpc, transfer, websocket_reaches_caller
from ._http import JsRequest, JsResponse
from ._ids import JURISDICTIONS, DurableObjectId, IdFactory
from ._js import (
    NULL,
    UNDEFINED,
    HostObject,
    JsArray,
    JsFunction,
    JsObject,
    to_js_string,
)
from ._objects import Instance, ObjectHost
from ._pyodide import JsPromise, JsProxy
from ._rpc import BindingWrapper
from ._sql import SqliteStore
from ._storage import KvStore

if TYPE_CHECKING:
    from ._simulation import Simulation

__all__ = ["DurableObjectStub", "Namespace", "NamespaceWrapper", "StubWrapper"]

LOCATION_HINTS: Final = (
    "wnam", "enam", "sam", "weur", "eeur", "apac", "apac-ne", "apac-se", "oc", "afr", "me",
)
RESERVED_NAMES: Final = frozenset(
    {"fetch", "connect", "alarm", "webSocketMessage", "webSocketClose", "webSocketError",
     "dup", "constructor"}
)


class Namespace(HostObject):
    """``DurableObjectNamespace``: one binding's objects."""

    js_class = "DurableObjectNamespace"
    js_members = frozenset(
        {"idFromName", "newUniqueId", "idFromString", "get", "getByName", "jurisdiction"}
    )

    def __init__(
        self,
        simulation: Simulation,
        binding: str,
        cls: type,
        *,
        compat: Compat,
        unique_key: str,
        jurisdiction: str | None = None,
        parent: Namespace | None = None,
        sqlite: bool = False,
        persist_dir: Path | None = None,
    ) -> None:
        self.simulation = simulation
        self.binding = binding
        self.cls = cls
        self.compat = compat
        self.unique_key = unique_key
        self.jurisdiction_name = jurisdiction
        self.sqlite = sqlite
        """SQLite-backed (``new_sqlite_classes``) rather than KV-backed."""
        self.persist_dir = persist_dir
        self._ids = IdFactory(unique_key)
        self.hosts: dict[str, ObjectHost] = parent.hosts if parent is not None else {}
        self._root = parent or self

    # -- the JavaScript API

    def idFromName(self, name: Any) -> DurableObjectId:
        return self._ids.from_name(to_js_string(name), self.jurisdiction_name)

    def newUniqueId(self, options: Any = UNDEFINED) -> DurableObjectId:
        jurisdiction = _option(options, "jurisdiction")
        if jurisdiction is None:
            jurisdiction = self.jurisdiction_name
        else:
            _check_jurisdiction(jurisdiction)
        return self._ids.unique(jurisdiction)

    def idFromString(self, text: Any) -> DurableObjectId:
        return self._ids.from_string(to_js_string(text))

    def get(self, object_id: Any, options: Any = UNDEFINED) -> DurableObjectStub:
        if not isinstance(object_id, DurableObjectId):
            raise _errors.not_of_type("get", "DurableObjectNamespace", 1, "DurableObjectId")
        if (
            self.jurisdiction_name is not None
            and object_id.jurisdiction_or_none != self.jurisdiction_name
        ):
            raise _errors.type_error(_errors.JURISDICTION_MISMATCH)
        _check_get_options(options)
        return DurableObjectStub(self._root.host_for(object_id), object_id)

    def getByName(self, name: Any, options: Any = UNDEFINED) -> DurableObjectStub:
        return self.get(self.idFromName(name), options)

    def jurisdiction(self, name: Any) -> Namespace:
        jurisdiction = to_js_string(name)
        _check_jurisdiction(jurisdiction)
        return Namespace(
            self.simulation, self.binding, self.cls, compat=self.compat,
            unique_key=self.unique_key, jurisdiction=jurisdiction, parent=self._root,
            sqlite=self.sqlite, persist_dir=self.persist_dir,
        )

    # -- the simulator's side

    def host_for(self, object_id: DurableObjectId) -> ObjectHost:
        host = self.hosts.get(object_id.hex)
        if host is None:
            host = self.hosts[object_id.hex] = ObjectHost(self, object_id)
        return host

    def new_store(self, object_id: DurableObjectId) -> KvStore | SqliteStore:
        """The durable storage of a new object of this namespace."""
        if not self.sqlite:
            return KvStore()
        path = None
        if self.persist_dir is not None:
            label = object_id.name_or_none or object_id.hex
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
            # The id's first hex digits keep names that sanitize alike apart.
            path = self.persist_dir / f"{self.binding}-{safe}-{object_id.hex[:8]}.sqlite"
        return SqliteStore(path)

    def env_wrapper(self) -> Any:
        return self.simulation.env_wrapper()

    def handler_name(self, handler: str) -> str:
        """A handler's Python name under this namespace's compatibility date."""
        if self.compat["python_no_global_handlers"]:
            return handler
        return f"on_{handler}"


def _check_jurisdiction(name: str) -> None:
    if name not in JURISDICTIONS:
        valid = ", ".join(repr(j) for j in JURISDICTIONS)
        raise _errors.type_error(f"Invalid jurisdiction {name!r}: expected one of {valid}.")


def _check_get_options(options: Any) -> None:
    hint = _option(options, "locationHint")
    if hint is not None and hint not in LOCATION_HINTS:
        valid = ", ".join(LOCATION_HINTS)
        raise _errors.range_error(f"unknown locationHint: {hint} (valid hints: {valid})")
    mode = _option(options, "routingMode")
    if mode is not None and mode != "primary-only":
        raise _errors.range_error(_errors.UNKNOWN_ROUTING_MODE.format(mode=mode))


def _option(options: Any, name: str) -> Any:
    if isinstance(options, JsObject):
        value = options.props.get(name, UNDEFINED)
        return None if value is UNDEFINED or value is NULL else value
    return None


class DurableObjectStub(HostObject):
    """The runtime's stub: ``fetch``, ``id``, ``name`` and any RPC method."""

    js_class = "DurableObject"
    js_members = frozenset({"fetch", "id", "name"})

    def __init__(self, host: ObjectHost, object_id: DurableObjectId) -> None:
        self._host = host
        self.id = object_id
        self.name = object_id.name
        self._bound: list[Instance | None] = [None]

    def js_get(self, name: str) -> Any:
        """Every other property is an RPC method."""
        return JsFunction(lambda *args: self._call(name, args), name)

    def fetch(self, input: Any, init: Any = UNDEFINED) -> JsPromise:
        try:
            request = JsRequest.construct(input, init)
        except JsException as exc:
            return JsPromise.reject(exc)
        host = self._host
        name = host.namespace.handler_name("fetch")

        async def handle(obj: Any) -> JsResponse:
            response = await run_fetch(getattr(obj, name, None), name, request)
            return websocket_reaches_caller(response)

        return self._dispatch(handle)

    def _call(self, name: str, args: tuple[Any, ...]) -> JsPromise:
        if name in RESERVED_NAMES:
            # The object's side refuses the name, so the call's promise rejects.
            return JsPromise.reject(_errors.type_error(_errors.RESERVED_METHOD.format(name=name)))
        sent = transfer(JsArray(args))
        return self._dispatch(lambda obj: run_rpc(obj, name, sent))

    def _dispatch(self, handle: Callable[[Any], Any]) -> JsPromise:
        task = asyncio.ensure_future(self._host.deliver(self._bound, handle))
        return JsPromise(task)


# -- the Python side -------------------------------------------------------------


class StubWrapper(BindingWrapper):
    """The SDK's ``_FetcherWrapper``: a stub as Python code holds it."""

    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        from ._shims.workers import fetch

        return fetch(*args, fetcher=self._binding.fetch, **kwargs)


class NamespaceWrapper:
    """The SDK's ``_DurableObjectNamespaceWrapper``: ``get``, ``getByName``
    and ``jurisdiction`` wrap their results; everything else is raw."""

    def __init__(self, binding: JsProxy) -> None:
        self._binding = binding

    def __getattr__(self, name: str) -> Any:
        return getattr(self._binding, name)

    def get(self, *args: Any, **kwargs: Any) -> StubWrapper:
        return StubWrapper(self._binding.get(*args, **kwargs))

    def getByName(self, *args: Any, **kwargs: Any) -> StubWrapper:
        return StubWrapper(self._binding.getByName(*args, **kwargs))

    def jurisdiction(self, *args: Any, **kwargs: Any) -> NamespaceWrapper:
        return NamespaceWrapper(self._binding.jurisdiction(*args, **kwargs))

    def __repr__(self) -> str:
        namespace: Namespace = self._binding._js
        return f"<DurableObjectNamespace {namespace.binding} of {namespace.cls.__qualname__}>"

