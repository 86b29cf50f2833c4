"""One Durable Object: its durable state, its live instance and ``ctx``.

``ObjectHost`` outlives instances: it keeps the storage of one id and builds
an instance of the class on the first event after start, hibernation,
eviction or reset. Events reach the instance through ``ObjectHost.deliver``,
which holds them while a ``blockConcurrencyWhile`` callback runs (the input
lock) and turns what escapes the handler into what the caller sees.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import math
import os
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from . import _errors
from ._errors import DurableObjectAbort, JsException, NotModelled
from ._js import (
    NULL,
    UNDEFINED,
    HostObject,
    JsDate,
    JsFunction,
    JsObject,
    PyProxy,
    number_to_string,
)
from ._pyodide import JsPromise, JsPromiseProxy, JsProxy, from_js, to_js_implicit
from ._rpc import BindingWrapper
from ._sql import SqliteStore
from ._storage import DurableObjectStorage, DurableObjectTransaction, KvStore
from ._websocket import HibernationManager, WebSocket

if TYPE_CHECKING:
    from ._alarms import AlarmScheduler
    from ._ids import DurableObjectId
    from ._namespace import Namespace

__all__ = ["DurableObjectContext", "DurableObjectState", "Instance", "ObjectHost"]

MAX_BCW_DEPTH: Final = 64

_bcw_depth: contextvars.ContextVar[int] = contextvars.ContextVar("bcw_depth", default=0)
current_instance: contextvars.ContextVar[Instance | None] = contextvars.ContextVar(
    "current_instance", default=None
)
"""The instance whose event is running (standard-API sockets belong to it)."""


class Instance:
    """One life of an object, from construction to eviction or reset."""

    def __init__(self, host: ObjectHost) -> None:
        self.host = host
        self.state = DurableObjectState(host, self)
        self.obj: Any = None
        self.broken: JsException | None = None
        self.blockers: list[asyncio.Future[Any]] = []
        self.standard_sockets: list[WebSocket] = []
        self.in_transaction = 0
        self._running: set[asyncio.Task[Any]] = set()
        self._cancelled_by_reset: set[asyncio.Task[Any]] = set()

    def break_with(self, error: JsException) -> None:
        """Reset the object: this instance is done and ``error`` is what its
        callers see from now on, including those whose events are running."""
        if self.broken is None:
            self.broken = error
        if self.host.instance is self:
            self.host.instance = None
        current = asyncio.current_task()
        for task in self._running:
            if task is not current and task not in self._cancelled_by_reset:
                self._cancelled_by_reset.add(task)
                task.cancel()

    @property
    def running(self) -> bool:
        """Whether an event is running in this instance now."""
        return bool(self._running)

    async def unless_reset(self, work: Awaitable[Any]) -> Any:
        """Await ``work`` (in the event's own task); if the object is reset
        meanwhile, the work is cancelled and the reset's error raised."""
        task = asyncio.current_task()
        assert task is not None  # every event runs in a task of its own
        self._running.add(task)
        try:
            return await work
        except asyncio.CancelledError:
            if task not in self._cancelled_by_reset or self.broken is None:
                raise
            task.uncancel()
            raise self.broken from None
        finally:
            self._running.discard(task)
            self._cancelled_by_reset.discard(task)

    async def wait_for_input_lock(self) -> None:
        while self.blockers:
            blocker = self.blockers[0]
            await asyncio.wait([blocker])
            if self.broken is not None:
                raise self.broken


class ObjectHost:
    """Everything the runtime keeps for one id."""

    def __init__(self, namespace: Namespace, object_id: DurableObjectId) -> None:
        self.namespace = namespace
        self.id = object_id
        self.store: KvStore | SqliteStore = namespace.new_store(object_id)
        self.instance: Instance | None = None
        self.constructions = 0
        self._hibernation: HibernationManager | None = None

    @property
    def hibernation(self) -> HibernationManager:
        """The object's hibernatable sockets; they outlive instances."""
        if self._hibernation is None:
            self._hibernation = HibernationManager(self)
        return self._hibernation

    @property
    def in_transaction(self) -> bool:
        return self.instance is not None and self.instance.in_transaction > 0

    # -- instances

    def live_instance(self) -> Instance:
        """The running instance, constructing one if there is none."""
        if self.instance is None:
            instance = self.instance = Instance(self)
            self.constructions += 1
            self._construct(instance)
            # A constructor that failed has already reset the object, so the
            # host has no instance again; its callers get the broken one.
            return instance
        return self.instance

    def _construct(self, instance: Instance) -> None:
        cls = self.namespace.cls
        ctx = DurableObjectContext(JsProxy(instance.state))
        try:
            instance.obj = cls(ctx, self.namespace.env_wrapper())
        except NotModelled:
            self.instance = None
            raise
        except DurableObjectAbort:
            instance.break_with(instance.state.abort_error)
        except JsException as exc:
            instance.break_with(remote_error(exc))
        except Exception as exc:
            instance.break_with(python_error(exc))

    def evict(self) -> None:
        """Hibernate or evict: drop the live instance. Storage and
        hibernatable sockets stay; sockets accepted the standard way close
        (their clients see 1006). The next event constructs a new instance."""
        busy = self.instance is not None and (self.instance.running or self.instance.blockers)
        if busy:
            raise RuntimeError(
                f"cannot hibernate the object {self.id.name_or_none or self.id.hex}: an event "
                "is still running in it, and a busy object does not hibernate; let it finish "
                "(await the call, or durable_clock.advance()) first"
            )
        instance, self.instance = self.instance, None
        if instance is not None:
            for ws in instance.standard_sockets:
                if not ws.disconnected:
                    ws.disconnected = True
                    if ws.peer is not None:
                        ws.peer.drop()

    # -- events

    async def deliver(
        self, bound: list[Instance | None], handler: Callable[[Any], Awaitable[Any] | Any]
    ) -> Any:
        """Run one event on the live instance and return the handler's result.

        ``bound`` is the caller's stub binding: the instance a stub first
        reached stays its target, and once that instance is broken every call
        through the stub fails with the same error.
        """
        instance = bound[0]
        if instance is None or (instance.broken is None and instance is not self.instance):
            instance = bound[0] = self.live_instance()
        if instance.broken is not None:
            raise instance.broken
        await instance.wait_for_input_lock()
        current_instance.set(instance)
        try:
            result = handler(instance.obj)
            if inspect.isawaitable(result):
                result = await instance.unless_reset(result)
            return result
        except NotModelled:
            raise  # the simulator's own limit: it reaches the test unconverted
        except DurableObjectAbort:
            instance.break_with(instance.state.abort_error)
            raise instance.state.abort_error from None
        except JsException as exc:
            if instance.broken is not None:
                raise instance.broken from None
            raise remote_error(exc) from None
        except Exception as exc:
            if instance.broken is not None:
                raise instance.broken from None
            raise python_error(exc) from exc

    # -- storage hooks

    def on_delete_all(self) -> None:
        if self.namespace.compat["delete_all_deletes_alarm"]:
            self._alarms().delete_alarm(self)

    def run_transaction(self, storage: DurableObjectStorage, closure: Any) -> JsPromise:
        instance = self.live_instance()

        async def run() -> Any:
            savepoint = None
            if isinstance(self.store, SqliteStore):
                savepoint = f"_cf_txn_savepoint_{self.store.savepoint_depth}"
                self.store.savepoint(savepoint)
            txn = DurableObjectTransaction(storage, savepoint)
            if savepoint is not None:
                # On SQLite every write of the closure belongs to the transaction,
                # including alarm writes made on ctx.storage directly.
                txn.remember_alarm()
            instance.in_transaction += 1
            try:
                result = await call_js_callback(closure, txn)
            except BaseException:
                if txn.state == "open":
                    txn.undo()
                    txn.state = "rolled_back"
                raise
            finally:
                instance.in_transaction -= 1
            if txn.state == "open":
                txn.commit()
            return result

        # The closure's error rolls the transaction back and reaches the
        # caller; unlike a failing blockConcurrencyWhile, it does not reset.
        return instance.state.block_concurrency(run(), reset_on_failure=False)

    def get_alarm(self) -> Any:
        return self._alarms().get_alarm(self)

    def set_alarm(self, scheduled_time: Any) -> Any:
        if isinstance(scheduled_time, JsDate):
            ms = scheduled_time.ms
        elif isinstance(scheduled_time, float):
            ms = scheduled_time
        else:
            raise _errors.not_of_type("setAlarm", "DurableObjectStorage", 1, "Date")
        if math.isnan(ms) or math.isinf(ms):
            # A Date that holds no time (NaN, or out of range).
            raise _errors.type_error(
                f"setAlarm() cannot be called with an invalid alarm time ({number_to_string(ms)}); "
                "pass milliseconds since the epoch or a datetime"
            )
        if ms <= 0:
            raise _errors.type_error("setAlarm() cannot be called with an alarm time <= 0")
        self._alarms().set_alarm(self, ms)
        return UNDEFINED

    def delete_alarm(self) -> Any:
        self._alarms().delete_alarm(self)
        return UNDEFINED

    def _alarms(self) -> AlarmScheduler:
        return self.namespace.simulation.alarms


class DurableObjectState(HostObject):
    """``ctx`` as JavaScript holds it (``DurableObjectState``)."""

    js_class = "DurableObjectState"
    js_members = frozenset(
        {"id", "storage", "waitUntil", "blockConcurrencyWhile", "abort", "props", "exports",
         "container", "facets", "acceptWebSocket", "getWebSockets", "getTags",
         "setWebSocketAutoResponse", "getWebSocketAutoResponse",
         "getWebSocketAutoResponseTimestamp", "setHibernatableWebSocketEventTimeout",
         "getHibernatableWebSocketEventTimeout"}
    )

    def __init__(self, host: ObjectHost, instance: Instance) -> None:
        self._host = host
        self._instance = instance
        self.id = host.id
        self.storage = DurableObjectStorage(host.store, host)
        self.props = UNDEFINED
        self.container = NULL
        self.abort_error = _errors.error(_errors.ABORT_DEFAULT_REASON, durableObjectReset=True)

    @property
    def exports(self) -> Any:
        raise NotModelled("ctx.exports is not modelled by pytest-durable")

    @property
    def facets(self) -> Any:
        raise NotModelled("ctx.facets is not modelled by pytest-durable")

    def waitUntil(self, promise: Any) -> Any:
        # The work belongs to the simulation: it outlives this instance.
        self._host.namespace.simulation.wait_until(promise)
        return UNDEFINED

    def blockConcurrencyWhile(self, callback: Any) -> JsPromise:
        depth = _bcw_depth.get()
        if depth >= MAX_BCW_DEPTH:
            return JsPromise.reject(_errors.error(_errors.BCW_NESTED_TOO_DEEPLY))

        async def run() -> Any:
            _bcw_depth.set(depth + 1)
            return await call_js_callback(callback)

        return self.block_concurrency(run())

    def block_concurrency(
        self, work: Awaitable[Any], *, reset_on_failure: bool = True
    ) -> JsPromise:
        """Run ``work`` holding the input lock: no event reaches the object
        until it is done. If it fails, the object is reset, or with
        ``reset_on_failure=False`` the promise rejects (``abort()`` resets
        either way)."""
        instance = self._instance
        task = asyncio.ensure_future(work)
        instance.blockers.append(task)
        settled: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(finished: asyncio.Future[Any]) -> None:
            instance.blockers.remove(finished)
            if finished.cancelled():
                settled.cancel()
                return
            error = finished.exception()
            if error is None:
                settled.set_result(to_js_implicit(finished.result()))
            elif isinstance(error, DurableObjectAbort):
                instance.break_with(self.abort_error)
            elif not reset_on_failure:
                settled.set_exception(error)
            else:
                instance.break_with(
                    remote_error(error) if isinstance(error, JsException) else python_error(error)
                )
                # The promise inside the object is deliberately never settled.

        task.add_done_callback(done)
        return JsPromise(settled)

    def abort(self, reason: Any = UNDEFINED, options: Any = UNDEFINED) -> Any:
        message = _errors.ABORT_DEFAULT_REASON if reason is UNDEFINED else str(from_js(reason))
        self.abort_error = JsException("Error", message, durableObjectReset=True, remote=True)
        retry = options.props.get("retryAlarm", True) if isinstance(options, JsObject) else True
        # {retryAlarm: false}: an alarm this abort interrupts is not retried.
        self.abort_error.retry_alarm = retry is not False
        self._instance.break_with(self.abort_error)
        return UNDEFINED

    # -- WebSockets (the hibernation API)

    def acceptWebSocket(self, ws: Any, tags: Any = UNDEFINED) -> Any:
        self._host.hibernation.accept(ws, tags)
        return UNDEFINED

    def getWebSockets(self, tag: Any = UNDEFINED) -> Any:
        return self._host.hibernation.get_websockets(tag)

    def getTags(self, ws: Any) -> Any:
        return self._host.hibernation.get_tags(ws)

    def setWebSocketAutoResponse(self, pair: Any = UNDEFINED) -> Any:
        self._host.hibernation.set_auto_response(pair)
        return UNDEFINED

    def getWebSocketAutoResponse(self) -> Any:
        return self._host.hibernation.get_auto_response()

    def getWebSocketAutoResponseTimestamp(self, ws: Any) -> Any:
        if not isinstance(ws, WebSocket):
            raise _errors.not_of_type(
                "getWebSocketAutoResponseTimestamp", "DurableObjectState", 1, "WebSocket"
            )
        if ws.auto_response_ms is None:
            return NULL
        return JsDate(ws.auto_response_ms)

    def setHibernatableWebSocketEventTimeout(self, ms: Any = UNDEFINED) -> Any:
        self._host.hibernation.set_event_timeout(ms)
        return UNDEFINED

    def getHibernatableWebSocketEventTimeout(self) -> Any:
        timeout = self._host.hibernation.event_timeout_ms
        return NULL if timeout is None else timeout

    def __getattr__(self, name: str) -> Any:
        if name in type(self).js_members:
            raise NotModelled(f"ctx.{name} is not modelled by pytest-durable")
        raise AttributeError(name)


class DurableObjectContext:
    """The SDK's ``DurableObjectContext``: raw JavaScript members, except
    ``storage`` (wrapped) and ``abort`` (raises ``DurableObjectAbort``)."""

    def __init__(self, ctx: JsProxy) -> None:
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:
        result = getattr(self._ctx, name)
        if name == "storage":
            result = BindingWrapper(result)
        setattr(self, name, result)
        return result

    def abort(self, reason: str | None = None) -> None:
        state: DurableObjectState = self._ctx._js
        state.abort(UNDEFINED if reason is None else reason)
        raise DurableObjectAbort(reason or _errors.SDK_ABORT_DEFAULT)


# -- calling into Python and turning failures into what callers see ----------------


async def call_js_callback(callback: Any, *args: Any) -> Any:
    """Call a JavaScript function value (usually a Python function that
    crossed as a PyProxy) with JavaScript ``args``; returns the Python result."""
    if isinstance(callback, PyProxy) and callable(callback.obj):
        result = callback.obj(*(from_js(a) for a in args))
        if inspect.isawaitable(result):
            result = await result
        return result
    if isinstance(callback, JsFunction):
        result = callback.fn(*args)
        if isinstance(result, JsPromise):
            return await _wait(result)
        value = from_js(result)
        if inspect.isawaitable(value):
            value = await value
        return value
    raise _errors.type_error("parameter 1 is not of type 'Function'.")


async def _wait(promise: JsPromise) -> Any:
    return await JsPromiseProxy(promise)


def awaitable_of(value: Any) -> Awaitable[Any] | None:
    if isinstance(value, JsPromise):
        return _wait(value)
    if isinstance(value, PyProxy) and inspect.isawaitable(value.obj):
        awaitable: Awaitable[Any] = value.obj
        return awaitable
    return None


def remote_error(exc: JsException) -> JsException:
    """A JavaScript error thrown in the object, as its caller receives it."""
    props = {k: v for k, v in vars(exc).items() if k not in ("name", "message")}
    props["remote"] = True
    return JsException(exc.name, exc.message, **props)


_PACKAGE_DIR: Final = os.path.dirname(os.path.abspath(__file__))


def _user_frames(exc: BaseException) -> TracebackType | None:
    """The traceback of ``exc`` without the simulator's own frames, which
    production tracebacks do not have."""
    kept: list[TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep):
            kept.append(tb)
        tb = tb.tb_next
    head = None
    for frame in reversed(kept):
        head = TracebackType(head, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return head


def python_error(exc: BaseException) -> JsException:
    """A Python exception escaping the object becomes a ``PythonError``
    whose message is the formatted traceback; across RPC it arrives as an
    ``Error`` with the name folded into the message."""
    frames = _user_frames(exc)
    text = "".join(traceback.format_exception(exc.__class__, exc, frames)).rstrip()
    if frames is None:  # production tracebacks always have Pyodide's frames above
        text = f"Traceback (most recent call last):\n{text}"
    error = JsException("Error", f"PythonError: {text}", remote=True)
    error.__cause__ = exc
    return error
