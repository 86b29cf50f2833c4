"""The Worker as a client reaches it: ``durable_worker`` (its fetch and its
RPC methods) and ``durable_client`` (httpx)."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from js import WebSocketPair
from pyodide.http import AbortError
from pytester_helpers import literally
from workers import DurableObject, Response, WorkerEntrypoint

from pytest_durable import JsException, Simulation


class Room(DurableObject):
    async def fetch(self, request):
        client, server = WebSocketPair.new()
        self.ctx.acceptWebSocket(server)
        return Response(None, status=101, web_socket=client)

    async def webSocketMessage(self, ws, message):
        ws.send(f"{self.ctx.id.name}:{message}")

    async def visit(self):
        count = (await self.ctx.storage.get("visits") or 0) + 1
        await self.ctx.storage.put("visits", count)
        return count


class Default(WorkerEntrypoint):
    constructed: ClassVar[list[Default]] = []

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        Default.constructed.append(self)

    async def fetch(self, request):
        path = request.url.split("/", 3)[3]
        if path == "boom":
            raise ValueError("the handler failed")
        if path.startswith("rooms/"):
            return await self.env.ROOMS.getByName(path.split("/")[1]).fetch(request)
        if path.startswith("status/"):
            code = int(path.removeprefix("status/"))
            return Response(f"status {code}", status=code, headers={"x-code": str(code)})
        return Response.json(
            {
                "url": request.url,
                "method": request.method,
                "x-token": request.headers.get("x-token"),
                "content-type": request.headers.get("content-type"),
                "body": await request.text(),
            },
            headers={"x-worker": "default"},
        )

    async def add(self, a, b):
        return a + b

    def describe(self, value, options=None):
        return {"value": value, "options": options}

    async def visit(self, room):
        return await self.env.ROOMS.getByName(room).visit()

    async def fail(self):
        raise KeyError("missing")


pytestmark = pytest.mark.durable_object(cls=Room, binding="ROOMS")


@pytest.fixture(autouse=True)
def worker(durable_simulation: Simulation) -> None:
    """The Worker of this module: what a wrangler config's 'main' gives."""
    Default.constructed.clear()
    durable_simulation.set_worker(Default)


# -- durable_worker.fetch -------------------------------------------------------------


async def test_a_relative_url_resolves_against_example_com(durable_worker):
    response = await durable_worker.fetch("/items?page=2")

    assert response.status == 200
    assert response.headers["x-worker"] == "default"
    assert (await response.json())["url"] == "https://example.com/items?page=2"


async def test_a_relative_url_without_a_slash(durable_worker):
    response = await durable_worker.fetch("items")

    assert (await response.json())["url"] == "https://example.com/items"


async def test_an_absolute_url_is_kept(durable_worker):
    response = await durable_worker.fetch("https://shop.example.net/cart")

    assert (await response.json())["url"] == "https://shop.example.net/cart"


async def test_method_headers_and_body(durable_worker):
    response = await durable_worker.fetch(
        "/cart",
        method="PUT",
        headers={"x-token": "t-1", "content-type": "application/json"},
        body=json.dumps({"sku": 7}),
    )

    assert await response.json() == {
        "url": "https://example.com/cart",
        "method": "PUT",
        "x-token": "t-1",
        "content-type": "application/json",
        "body": '{"sku": 7}',
    }


async def test_status_codes_reach_the_caller(durable_worker):
    response = await durable_worker.fetch("/status/404")

    assert (response.status, response.ok) == (404, False)
    assert response.headers["x-code"] == "404"
    assert await response.text() == "status 404"


async def test_a_new_entrypoint_instance_for_every_event(durable_worker):
    await durable_worker.fetch("/a")
    await durable_worker.fetch("/b")
    assert await durable_worker.add(1, 2) == 3
    assert await durable_worker.visit("hall") == 1

    assert len(Default.constructed) == 4
    assert len({id(instance) for instance in Default.constructed}) == 4
    assert len({id(instance.ctx) for instance in Default.constructed}) == 4


async def test_an_error_in_the_worker_reaches_the_caller(durable_worker):
    # As a service binding's fetch() would: rejected, and pyfetch's
    # AbortError (an OSError) carries the Python traceback.
    with pytest.raises(AbortError) as caught:
        await durable_worker.fetch("/boom")

    message = str(caught.value)
    assert isinstance(caught.value, OSError)
    assert message.startswith("PythonError: Traceback (most recent call last):\n")
    assert f'File "{__file__}", line ' in message
    assert message.endswith("\nValueError: the handler failed")


async def test_a_websocket_upgrade_through_the_worker(durable_worker):
    response = await durable_worker.fetch("/rooms/lobby", headers={"Upgrade": "websocket"})

    assert response.status == 101
    ws = response.web_socket
    await ws.send("hello")
    assert await ws.receive() == "lobby:hello"


# -- RPC on the entrypoint -------------------------------------------------------------


async def test_rpc_methods(durable_worker):
    assert await durable_worker.add(2, 40) == 42
    assert await durable_worker.add("a", "b") == "ab"
    assert await durable_worker.visit("hall") == 1
    assert await durable_worker.visit("hall") == 2


async def test_rpc_keyword_arguments_arrive_as_one_trailing_dict(durable_worker):
    # JavaScript RPC has no keyword arguments: the SDK sends them as a last
    # positional object. Call RPC methods positionally.
    assert await durable_worker.describe(1, {"exact": True}) == {
        "value": 1,
        "options": {"exact": True},
    }
    assert await durable_worker.describe(1, options={"exact": True}) == {
        "value": 1,
        "options": {"options": {"exact": True}},
    }


# workerd reserves the Durable Object handler names on a WorkerEntrypoint too
# (worker-rpc.c++, isReservedName of the entrypoint's RPC target).
@pytest.mark.parametrize(
    "name",
    ["dup", "connect", "alarm", "webSocketMessage", "webSocketClose", "webSocketError"],
)
async def test_reserved_names_are_refused(durable_worker, name):
    with pytest.raises(JsException) as caught:
        await getattr(durable_worker, name)()

    assert str(caught.value) == (
        f"TypeError: '{name}' is a reserved method and cannot be called over RPC."
    )


async def test_a_missing_rpc_method(durable_worker):
    with pytest.raises(JsException) as caught:
        await durable_worker.nothing_here()

    assert str(caught.value) == "TypeError: Method nothing_here does not exist"


async def test_an_rpc_error_reaches_the_caller(durable_worker):
    with pytest.raises(JsException) as caught:
        await durable_worker.fail()

    assert caught.value.message.startswith("PythonError: Traceback (most recent call last):\n")
    assert caught.value.message.endswith("\nKeyError: 'missing'")


# -- durable_client: httpx -------------------------------------------------------------


async def test_client_get(durable_client):
    response = await durable_client.get("/items", params={"page": 3})

    assert response.status_code == 200
    assert response.headers["x-worker"] == "default"
    assert response.json()["url"] == "https://example.com/items?page=3"
    assert str(response.url) == "https://example.com/items?page=3"


async def test_client_post_json_with_headers(durable_client):
    response = await durable_client.post(
        "/orders", json={"sku": 7}, headers={"x-token": "t-2"}
    )

    assert response.json() == {
        "url": "https://example.com/orders",
        "method": "POST",
        "x-token": "t-2",
        "content-type": "application/json",
        "body": '{"sku":7}',
    }


@pytest.mark.parametrize(("code", "phrase"), [(201, "Created"), (404, "Not Found"), (503,
                         "Service Unavailable")])
async def test_client_status_codes(durable_client, code, phrase):
    response = await durable_client.delete(f"/status/{code}")

    assert (response.status_code, response.reason_phrase) == (code, phrase)
    assert response.text == f"status {code}"


async def test_client_error_in_the_worker(durable_client):
    # Production would answer 500; the test gets the exception, traceback and all.
    with pytest.raises(JsException) as caught:
        await durable_client.get("/boom")

    assert caught.value.message.endswith("\nValueError: the handler failed")


async def test_client_base_url(durable_client):
    assert str(durable_client.base_url) == "https://example.com"


# -- projects: on_fetch, and no entrypoint at all ---------------------------------------

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def write_project(pytester: pytest.Pytester, entry: str, date: str, flags: str = "") -> None:
    pytester.makeini(INI)
    pytester.makefile(
        ".toml",
        wrangler=f'name = "legacy"\nmain = "src/entry.py"\ncompatibility_date = "{date}"\n'
        f"compatibility_flags = [{flags}]\n"
        '[vars]\nGREETING = "hello"\n',
    )
    pytester.mkdir("src")
    pytester.path.joinpath("src", "entry.py").write_text(entry, encoding="utf-8")


ON_FETCH = """
from pyodide.ffi import JsProxy
from workers import Response


async def on_fetch(request, env, ctx):
    # The runtime passes the JavaScript request and env themselves.
    body = await request.text()
    raw = isinstance(request, JsProxy) and isinstance(env, JsProxy)
    return Response(f"{env.GREETING} {request.method} {request.url} {body} raw={raw}")
"""

CALLS_ON_FETCH = """
async def test_on_fetch(durable_worker):
    response = await durable_worker.fetch("/hi", method="POST", body="there")
    assert await response.text() == "hello POST https://example.com/hi there raw=True"
"""


def test_a_module_level_on_fetch(pytester: pytest.Pytester) -> None:
    write_project(pytester, ON_FETCH, "2025-08-13")
    pytester.makepyfile(test_legacy=CALLS_ON_FETCH)

    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_on_fetch_with_disable_python_no_global_handlers(pytester: pytest.Pytester) -> None:
    write_project(pytester, ON_FETCH, "2026-04-01", '"disable_python_no_global_handlers"')
    pytester.makepyfile(test_legacy=CALLS_ON_FETCH)

    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def assert_setup_error(result: pytest.RunResult, message: str) -> None:
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["_* ERROR at setup of test_* _*", literally(f"pytest-durable: {message}")],
        consecutive=True,
    )


def test_on_fetch_is_not_called_from_2025_08_14(pytester: pytest.Pytester) -> None:
    write_project(pytester, ON_FETCH, "2025-08-14")
    pytester.makepyfile(test_legacy=CALLS_ON_FETCH)

    assert_setup_error(
        pytester.runpytest_subprocess("-p", "no:cacheprovider"),
        f"durable_worker: {pytester.path}/src/entry.py defines a module-level on_fetch, which "
        "the runtime does not call from compatibility_date 2025-08-14 "
        "(python_no_global_handlers; this project's date is 2025-08-14): define class "
        "Default(WorkerEntrypoint) with a fetch method, or add the compatibility flag "
        "disable_python_no_global_handlers",
    )


def test_no_entrypoint_in_main(pytester: pytest.Pytester) -> None:
    write_project(pytester, "from workers import DurableObject\n", "2026-04-01")
    pytester.makepyfile(test_none="async def test_it(durable_worker): pass")

    assert_setup_error(
        pytester.runpytest_subprocess("-p", "no:cacheprovider"),
        f"durable_worker needs a Worker entrypoint: {pytester.path}/src/entry.py defines no "
        "WorkerEntrypoint subclass named Default",
    )


def test_default_that_is_not_a_worker_entrypoint(pytester: pytest.Pytester) -> None:
    write_project(pytester, "class Default:\n    async def fetch(self, request): pass\n",
                  "2026-04-01")
    pytester.makepyfile(test_none="async def test_it(durable_worker): pass")

    assert_setup_error(
        pytester.runpytest_subprocess("-p", "no:cacheprovider"),
        f"durable_worker: {pytester.path}/src/entry.py defines Default, but not as a "
        "WorkerEntrypoint subclass: write class Default(WorkerEntrypoint) (from workers import "
        "WorkerEntrypoint)",
    )


def test_no_config_at_all(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_none="async def test_it(durable_client): pass")

    assert_setup_error(
        pytester.runpytest_subprocess("-p", "no:cacheprovider"),
        "durable_worker needs a Worker, but no wrangler config was found for this test: add "
        "a wrangler.toml (or wrangler.json, wrangler.jsonc) whose 'main' is the Worker's "
        "module, or name one with --durable-config",
    )
