"""A simulation: one isolated world of Durable Objects.

A ``Simulation`` owns the clock, the compatibility flags, the namespaces and
their objects, and the ``env`` that Worker code sees. Nothing is shared
between simulations; the pytest plugin makes one per test. It can be used
without pytest:

    sim = Simulation()
    sim.add_namespace("COUNTER", Counter)
    async with sim:
        stub = sim.env.COUNTER.getByName("a")
        ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from ._alarms import AlarmScheduler, describe_object
from ._clock import Clock
from ._compat import Compat
from ._errors import NotModelled
from ._js import HostObject
from ._namespace import DurableObjectStub, Namespace, NamespaceWrapper
from ._objects import ObjectHost, awaitable_of
from ._pyodide import JsProxy
from ._shims import install as install_shims
from ._sql import SqliteStore
from ._websocket import HandlerCalls
from ._worker import WorkerStub

__all__ = ["Simulation", "current_simulation"]

_active: list[Simulation] = []


def active_simulation() -> Simulation | None:
    """The simulation whose code is running, if any."""
    return _active[-1] if _active else None


def current_simulation() -> Simulation:
    """The simulation whose code is running (``js.Date.now()`` asks it)."""
    if not _active:
        raise RuntimeError(
            "no pytest-durable simulation is active: use the durable_env fixture, or "
            "'async with Simulation():' outside pytest"
        )
    return _active[-1]


class Simulation:
    """Namespaces of Durable Objects on one clock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        compat: Compat | None = None,
        vars: Mapping[str, Any] | None = None,
        script_name: str = "worker",
        fetch_transport: httpx.AsyncBaseTransport | None = None,
        unmodelled: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.compat = compat or Compat()
        self.script_name = script_name
        self.namespaces: dict[str, Namespace] = {}
        self.vars: dict[str, Any] = {k: json_to_js(v) for k, v in (vars or {}).items()}
        self.fetch_transport = fetch_transport
        """The httpx transport outbound fetch() uses (None: blocked unless mocked)."""
        self.blocked_fetches: list[str] = []
        """URLs of outbound requests that nothing answered: the plugin fails
        the test at teardown unless the test cleared this list."""
        self.unmodelled: dict[str, str] = dict(unmodelled or {})
        """Bindings the configuration declares but the simulator does not
        model, by name, with their kind: touching one raises."""
        self.worker: WorkerStub | None = None
        self._wait_until: list[asyncio.Future[Any]] = []
        self.alarms = AlarmScheduler(self)
        self._env = _Env(self)
        self._env_wrapper: EnvWrapper | None = None
        install_shims()

    # -- set-up

    def add_namespace(
        self,
        binding: str,
        cls: type,
        *,
        class_name: str | None = None,
        sqlite: bool = False,
        persist_dir: Path | None = None,
    ) -> Namespace:
        """Bind ``cls`` as a Durable Object namespace named ``binding``.

        ``sqlite`` makes its objects SQLite-backed (``new_sqlite_classes``);
        ``persist_dir`` keeps each SQLite-backed object's database there as a
        file. Two bindings of one class share one namespace, as in
        production: the same ids reach the same objects.
        """
        from ._shims.workers import DurableObject

        if not (isinstance(cls, type) and issubclass(cls, DurableObject)):
            raise TypeError(
                f"{cls!r} is not a Durable Object class: a Durable Object class must "
                "subclass workers.DurableObject"
            )
        if binding in self.namespaces:
            raise ValueError(f"binding {binding!r} is already defined")
        name = class_name or cls.__name__
        unique_key = f"{self.script_name}-{name}"
        sibling = next((ns for ns in self.namespaces.values() if ns.unique_key == unique_key), None)
        namespace = Namespace(
            self, binding, cls, compat=self.compat, unique_key=unique_key, parent=sibling,
            sqlite=sqlite if sibling is None else sibling.sqlite,
            persist_dir=persist_dir,
        )
        self.namespaces[binding] = namespace
        return namespace

    # -- what code sees

    @property
    def env(self) -> EnvWrapper:
        """``env`` as Worker and Durable Object code receive it."""
        return self.env_wrapper()

    def env_wrapper(self) -> EnvWrapper:
        if self._env_wrapper is None:
            self._env_wrapper = EnvWrapper(JsProxy(self._env))
        return self._env_wrapper

    def namespace(self, binding: str) -> NamespaceWrapper:
        wrapper: NamespaceWrapper = getattr(self.env, binding)
        return wrapper

    def set_worker(self, entrypoint: Any) -> WorkerStub:
        """Make ``entrypoint`` (a ``WorkerEntrypoint`` subclass, or an
        ``on_fetch`` function) the Worker's default export."""
        self.worker = WorkerStub(self, entrypoint)
        return self.worker

    def wait_until(self, promise: Any) -> None:
        awaitable = awaitable_of(promise)
        if awaitable is not None:
            self.track(asyncio.ensure_future(awaitable))

    def track(self, task: asyncio.Future[Any]) -> None:
        """Background work of the simulated code, cancelled when it ends."""
        self._wait_until = [t for t in self._wait_until if not t.done()]
        self._wait_until.append(task)

    def host_of(self, stub: Any) -> ObjectHost:
        """The object a stub (as Python code holds it) reaches."""
        target = getattr(getattr(stub, "_binding", None), "_js", None)
        if not isinstance(target, DurableObjectStub):
            raise TypeError(f"expected a Durable Object stub (ns.get(id)), got {stub!r}")
        return target._host

    def hibernate(self, stub: Any) -> None:
        """Hibernate (or evict) the object ``stub`` reaches: its instance is
        dropped and constructed again on the next event; storage,
        hibernatable sockets, their tags and attachments stay."""
        self.host_of(stub).evict()

    def handler_calls(self, stub: Any) -> HandlerCalls:
        """Which WebSocket handlers of the object ran (``unittest.mock`` mocks)."""
        return self.host_of(stub).hibernation.calls

    def leftovers(self) -> list[str]:
        """One line per alarm left pending or dropped, and per WebSocket
        handler exception the test did not clear."""
        lines = self.alarms.leftovers()
        for namespace in self.namespaces.values():
            for host in namespace.hosts.values():
                manager = host._hibernation
                for error in [] if manager is None else manager.calls.errors:
                    lines.append(
                        f"{namespace.binding} {describe_object(host)}: a WebSocket handler "
                        f"raised {error!r} (clear handler_calls(stub).errors once checked)"
                    )
        return lines

    def objects(self, binding: str) -> Iterator[Any]:
        """The hosts of every object of ``binding`` that has been reached."""
        return iter(self.namespaces[binding].hosts.values())

    # -- running

    def __enter__(self) -> Simulation:
        _active.append(self)
        self.clock.freeze()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.clock.unfreeze()
        finally:
            _active.remove(self)
            self._close_databases()

    def _close_databases(self) -> None:
        """Commit and close every SQLite database (files stay for inspection)."""
        for namespace in self.namespaces.values():
            for host in namespace.hosts.values():
                if isinstance(host.store, SqliteStore):
                    host.store.close()

    async def __aenter__(self) -> Simulation:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        finally:
            self.__exit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Give ``waitUntil`` work one turn of the loop, then cancel the rest."""
        if self._pending():
            await asyncio.sleep(0)
        self.cancel_pending()

    def cancel_pending(self) -> None:
        """Cancel alarms and ``waitUntil`` work still pending (the test is over)."""
        self.alarms.cancel_all()
        for task in self._pending():
            task.cancel()

    def _pending(self) -> list[asyncio.Future[Any]]:
        sockets = [
            task
            for namespace in self.namespaces.values()
            for host in namespace.hosts.values()
            if host._hibernation is not None
            for task in host._hibernation.pending()
        ]
        return sockets + [task for task in self._wait_until if not task.done()]


def json_to_js(value: Any) -> Any:
    """A configuration value (TOML or JSON) as JavaScript holds it."""
    from ._js import JsArray, JsObject
    from ._pyodide import to_js_implicit

    if isinstance(value, dict):
        return JsObject({str(k): json_to_js(v) for k, v in value.items()})
    if isinstance(value, list):
        return JsArray(json_to_js(v) for v in value)
    if value is None:
        from ._js import NULL

        return NULL
    return to_js_implicit(value)


def _article(kind: str) -> str:
    """'an' before a vowel sound: 'an R2 bucket', 'a KV namespace'."""
    acronym = len(kind) > 1 and not kind[1].islower()
    vowel_sound = kind[:1] in ("AEFHILMNORSX" if acronym else "AEIOUaeiou")
    return f"{'an' if vowel_sound else 'a'} {kind}"


class _Env(HostObject):
    """``env`` as JavaScript holds it: the bindings and variables."""

    js_class = "Object"

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation

    def js_get(self, name: str) -> Any:
        simulation = self._simulation
        namespace = simulation.namespaces.get(name)
        if namespace is not None:
            return namespace
        if name in simulation.vars:
            return simulation.vars[name]
        if name in simulation.unmodelled:
            modelled = ", ".join(sorted([*simulation.namespaces, *simulation.vars])) or "none"
            raise NotModelled(
                f"env.{name} is {_article(simulation.unmodelled[name])} binding, which "
                "pytest-durable "
                f"does not model (it models Durable Object namespaces, vars and secrets; "
                f"this env has: {modelled})"
            )
        raise AttributeError(name)

    def js_own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = dict(self._simulation.namespaces)
        props.update(self._simulation.vars)
        return props


class EnvWrapper:
    """The SDK's ``_EnvWrapper``: Durable Object namespaces come wrapped."""

    def __init__(self, env: JsProxy) -> None:
        self._env = env

    def __getattr__(self, name: str) -> Any:
        binding = getattr(self._env, name)
        if isinstance(binding, JsProxy) and isinstance(binding._js, Namespace):
            binding = NamespaceWrapper(binding)
        setattr(self, name, binding)
        return binding

    def __dir__(self) -> list[str]:
        return sorted(self._env._js.js_own_props())

    def __repr__(self) -> str:
        return f"<env {', '.join(self.__dir__())}>"

