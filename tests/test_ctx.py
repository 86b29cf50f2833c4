"""``self.ctx`` inside a Durable Object, the input gate, and the stand-in modules
(reference sections 2, 8.2)."""

from __future__ import annotations

import asyncio
import importlib
import sys

import pytest
from workers import DurableObject

from pytest_durable import Clock, DurableObjectAbort, JsException, Simulation

# workerd's default abort() reason (reference 2.9, actor-state.c++).
ABORT_DEFAULT = "Error: Application called abort() to reset Durable Object."


async def turns(count: int = 10) -> None:
    """Let the event loop run ``count`` rounds, without letting time pass."""
    for _ in range(count):
        await asyncio.sleep(0)


# -- ctx.id ---------------------------------------------------------------------------


class Identity(DurableObject):
    def describe(self):
        own = self.ctx.id
        return {"id": own.toString(), "name": own.name, "equals_itself": own.equals(own)}


@pytest.fixture
def identity(durable_simulation: Simulation):
    durable_simulation.add_namespace("IDENTITY", Identity)
    return durable_simulation.namespace("IDENTITY")


async def test_ctx_id_is_the_stub_id_with_its_name(identity):
    stub = identity.getByName("alice")

    assert await stub.describe() == {
        "id": stub.id.toString(),
        "name": "alice",
        "equals_itself": True,
    }


async def test_ctx_id_of_a_unique_id_has_no_name(identity):
    made = identity.newUniqueId()

    assert await identity.get(made).describe() == {
        "id": made.toString(),
        "name": None,
        "equals_itself": True,
    }


# -- waitUntil -----------------------------------------------------------------------


class Background(DurableObject):
    release: asyncio.Event
    finished: asyncio.Event

    def start(self):
        self.ctx.waitUntil(self.later())
        return "started"

    async def later(self):
        await Background.release.wait()
        await self.ctx.storage.put("done", True)
        Background.finished.set()

    async def done(self):
        return await self.ctx.storage.get("done")


async def test_wait_until_runs_a_coroutine_after_the_call_returns(durable_simulation: Simulation):
    Background.release = asyncio.Event()
    Background.finished = asyncio.Event()
    durable_simulation.add_namespace("BACKGROUND", Background)
    stub = durable_simulation.namespace("BACKGROUND").getByName("b")

    assert await stub.start() == "started"
    assert await stub.done() is None

    Background.release.set()
    async with asyncio.timeout(5):
        await Background.finished.wait()

    assert await stub.done() is True


# -- blockConcurrencyWhile ----------------------------------------------------------


class Loader(DurableObject):
    release: asyncio.Event
    constructions = 0

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        Loader.constructions += 1
        self.loaded = None
        # Not awaited: the constructor is synchronous, the runtime holds
        # events until the callback is done.
        self.ready = ctx.blockConcurrencyWhile(self.load)

    async def load(self):
        await Loader.release.wait()
        self.loaded = (await self.ctx.storage.get("value")) or "default"
        return "load result"

    def value(self):
        return self.loaded

    async def ready_value(self):
        return await self.ready

    async def inside(self, value):
        async def compute():
            await asyncio.sleep(0)
            return value * 2

        return await self.ctx.blockConcurrencyWhile(compute)


@pytest.fixture
def loader(durable_simulation: Simulation):
    Loader.release = asyncio.Event()
    Loader.constructions = 0
    durable_simulation.add_namespace("LOADER", Loader)
    return durable_simulation.namespace("LOADER").getByName("l")


async def test_events_wait_for_block_concurrency_while_in_the_constructor(loader):
    first = asyncio.ensure_future(loader.value())
    second = asyncio.ensure_future(loader.value())
    await turns()

    assert Loader.constructions == 1
    assert not first.done()
    assert not second.done()

    Loader.release.set()

    assert await first == "default"
    assert await second == "default"


async def test_block_concurrency_while_resolves_to_the_callback_result(loader):
    Loader.release.set()

    assert await loader.ready_value() == "load result"


async def test_awaited_block_concurrency_while_returns_the_value(loader):
    Loader.release.set()

    assert await loader.inside(21) == 42


class Fragile(DurableObject):
    constructions = 0

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        Fragile.constructions += 1
        self.calls = 0

    async def fail_inside(self):
        async def failing():
            raise RuntimeError("load failed")

        await self.ctx.blockConcurrencyWhile(failing)
        return "unreachable"

    def count(self):
        self.calls += 1
        return self.calls


@pytest.fixture
def fragile(durable_simulation: Simulation):
    Fragile.constructions = 0
    durable_simulation.add_namespace("FRAGILE", Fragile)
    return durable_simulation.namespace("FRAGILE")


async def test_a_failing_block_concurrency_while_resets_the_object(fragile):
    stub = fragile.getByName("f")
    assert await stub.count() == 1

    with pytest.raises(JsException) as caught:
        await stub.fail_inside()

    error = caught.value
    assert error.message.startswith("PythonError: Traceback (most recent call last):")
    assert error.message.endswith("\nRuntimeError: load failed")
    assert error.remote is True

    # The same stub stays broken, with the same error (reference 2.3).
    with pytest.raises(JsException) as again:
        await stub.count()
    assert str(again.value) == str(error)

    # A fresh stub reaches a new instance: the constructor runs again and the
    # in-memory counter starts over.
    assert await fragile.getByName("f").count() == 1
    assert Fragile.constructions == 2


class FailsToLoad(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.blockConcurrencyWhile(self.load)

    async def load(self):
        raise LookupError("no such row")

    def value(self):
        return "unreachable"


async def test_a_failing_block_concurrency_while_in_the_constructor(
    durable_simulation: Simulation,
):
    durable_simulation.add_namespace("FAILS", FailsToLoad)
    stub = durable_simulation.namespace("FAILS").getByName("f")

    with pytest.raises(JsException) as caught:
        await stub.value()

    assert caught.value.message.endswith("\nLookupError: no such row")


# -- abort ---------------------------------------------------------------------------


class Abortable(DurableObject):
    constructions = 0

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        Abortable.constructions += 1

    async def write_then_abort(self, reason):
        await self.ctx.storage.put("written", "before abort")
        try:
            if reason is None:
                self.ctx.abort()
            else:
                self.ctx.abort(reason)
        except Exception:
            return "caught by except Exception"
        return "unreachable"

    async def read(self):
        return await self.ctx.storage.get("written")

    async def wait_for(self, event_name):
        await getattr(Abortable, event_name).wait()
        return "unreachable"

    def abort_and_report(self):
        try:
            self.ctx.abort("seen inside")
        except DurableObjectAbort as exc:
            Abortable.seen_inside = str(exc)
            raise


@pytest.fixture
def abortable(durable_simulation: Simulation):
    Abortable.constructions = 0
    durable_simulation.add_namespace("ABORTABLE", Abortable)
    return durable_simulation.namespace("ABORTABLE")


def test_durable_object_abort_is_not_an_exception():
    assert issubclass(DurableObjectAbort, BaseException)
    assert not issubclass(DurableObjectAbort, Exception)


async def test_abort_with_the_default_reason(abortable):
    stub = abortable.getByName("a")

    with pytest.raises(JsException) as caught:
        await stub.write_then_abort(None)

    assert str(caught.value) == ABORT_DEFAULT
    assert caught.value.durableObjectReset is True


async def test_abort_with_a_reason(abortable):
    stub = abortable.getByName("a")

    with pytest.raises(JsException) as caught:
        await stub.write_then_abort("shutting down")

    assert str(caught.value) == "Error: shutting down"
    assert caught.value.message == "shutting down"
    assert caught.value.durableObjectReset is True


async def test_after_abort_the_stub_is_broken_and_a_fresh_stub_starts_over(abortable):
    stub = abortable.getByName("a")
    with pytest.raises(JsException):
        await stub.write_then_abort("first")

    with pytest.raises(JsException) as caught:
        await stub.read()
    assert str(caught.value) == "Error: first"

    fresh = abortable.getByName("a")
    # Storage committed before the abort is kept.
    assert await fresh.read() == "before abort"
    assert Abortable.constructions == 2


async def test_abort_fails_calls_still_running(abortable):
    Abortable.never = asyncio.Event()
    stub = abortable.getByName("a")
    running = asyncio.ensure_future(stub.wait_for("never"))
    await turns()

    with pytest.raises(JsException):
        await abortable.getByName("a").write_then_abort("gone")

    with pytest.raises(JsException) as caught:
        await running
    assert str(caught.value) == "Error: gone"
    assert caught.value.durableObjectReset is True


async def test_the_object_sees_durable_object_abort(abortable):
    Abortable.seen_inside = None

    with pytest.raises(JsException) as caught:
        await abortable.getByName("a").abort_and_report()

    assert Abortable.seen_inside == "seen inside"
    assert str(caught.value) == "Error: seen inside"


# -- the input gate ----------------------------------------------------------------


class Tally(DurableObject):
    async def increment(self):
        count = (await self.ctx.storage.get("count")) or 0
        await self.ctx.storage.put("count", count + 1)

    async def increment_with_a_pause(self):
        count = (await self.ctx.storage.get("count")) or 0
        await asyncio.sleep(0)
        await self.ctx.storage.put("count", count + 1)

    async def count(self):
        return await self.ctx.storage.get("count")


@pytest.fixture
def tally(durable_simulation: Simulation):
    durable_simulation.add_namespace("TALLY", Tally)
    return durable_simulation.namespace("TALLY").getByName("t")


async def test_storage_awaits_keep_the_input_gate_closed(tally):
    await asyncio.gather(*(tally.increment() for _ in range(50)))

    assert await tally.count() == 50


async def test_other_awaits_open_the_input_gate(tally):
    await asyncio.gather(*(tally.increment_with_a_pause() for _ in range(50)))

    # asyncio.sleep is not storage: other calls ran between the read and the
    # write, and increments were lost (reference 8.2).
    assert await tally.count() < 50


# -- js.Date and the stand-in modules ---------------------------------------------------


async def test_date_now_is_whole_milliseconds_of_the_simulation_clock():
    import js

    simulation = Simulation(clock=Clock(start=1_700_000_000_123.75))

    with simulation:
        now = js.Date.now()

    assert now == 1_700_000_000_123
    assert type(now) is int


class Clocked(DurableObject):
    def now(self):
        import js

        return js.Date.now()


async def test_date_now_inside_an_object(durable_simulation: Simulation):
    durable_simulation.clock.set_ms(durable_simulation.clock.now_ms() + 60_000.5)
    durable_simulation.add_namespace("CLOCKED", Clocked)

    now = await durable_simulation.namespace("CLOCKED").getByName("c").now()

    assert now == int(durable_simulation.clock.now_ms())
    assert type(now) is int


@pytest.mark.parametrize(
    ("name", "stand_in"),
    [
        ("workers", "pytest_durable._shims.workers"),
        ("js", "pytest_durable._shims.js"),
        ("pyodide", "pytest_durable._shims.pyodide"),
        ("pyodide.ffi", "pytest_durable._shims.pyodide_ffi"),
        ("pyodide.http", "pytest_durable._shims.pyodide_http"),
        ("pyodide.code", "pytest_durable._shims.pyodide_code"),
    ],
)
def test_runtime_modules_resolve_to_the_stand_ins(name, stand_in):
    assert importlib.import_module(name) is sys.modules[stand_in]


def test_pyodide_submodules_are_attributes():
    import pyodide
    import pyodide.ffi

    assert pyodide.ffi is sys.modules["pyodide.ffi"]
    assert pyodide.http is sys.modules["pyodide.http"]
    assert pyodide.code is sys.modules["pyodide.code"]


@pytest.mark.parametrize(
    ("module", "name", "message"),
    [
        ("workers", "FormData", "workers.FormData is not modelled by pytest-durable"),
        ("pyodide.ffi", "run_sync", "pyodide.ffi.run_sync is not modelled by pytest-durable"),
    ],
)
def test_unmodelled_names_say_so(module, name, message):
    with pytest.raises(NotImplementedError) as caught:
        getattr(importlib.import_module(module), name)

    assert str(caught.value) == message


def test_an_unmodelled_javascript_global_says_which_are_modelled():
    import js

    with pytest.raises(NotImplementedError) as caught:
        js.HTMLRewriter  # noqa: B018

    # The list grows as globals are modelled; Date has been there from the start.
    prefix = "js.HTMLRewriter is not modelled by pytest-durable; the modelled globals are "
    assert str(caught.value).startswith(prefix)
    assert "Date" in str(caught.value).removeprefix(prefix).split(", ")


def test_unmodelled_names_fail_on_from_import():
    with pytest.raises(NotImplementedError) as caught:
        from workers import WorkflowEntrypoint  # noqa: F401

    assert str(caught.value) == "workers.WorkflowEntrypoint is not modelled by pytest-durable"


def test_unknown_names_are_attribute_errors():
    import workers

    with pytest.raises(AttributeError, match=r"^module 'workers' has no attribute 'nonsense'$"):
        workers.nonsense  # noqa: B018
