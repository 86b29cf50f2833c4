"""Calling a Durable Object: RPC methods and ``fetch`` (reference sections 1.2-1.4, 7.3)."""

from __future__ import annotations

from http import HTTPMethod

import pytest
import workers
from pyodide.http import AbortError
from workers import DurableObject, Request, Response

from pytest_durable import Compat, JsException, Simulation


class Greeter:
    """A mixin: its methods are the object's methods."""

    def greet(self, name):
        return f"hello {name}"


class Base(DurableObject):
    def inherited(self):
        return "from the base class"


class Target(Greeter, Base):
    constructions = 0

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        Target.constructions += 1
        self.calls = 0
        self.setting = "not a method"

    def add(self, a, b):
        self.calls += 1
        return a + b

    async def describe(self, value):
        self.calls += 1
        return {"value": value, "type": type(value).__name__}

    def count(self):
        return self.calls

    def boom(self):
        self.calls += 1
        raise ValueError("boom")

    async def oversized_key(self):
        await self.ctx.storage.put("k" * 2049, 1)

    async def fetch(self, request):
        body = await request.text()
        return Response.json(
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers.items()),
                "body": body,
                "is_request": isinstance(request, Request),
            }
        )


@pytest.fixture
def stub(durable_simulation: Simulation):
    Target.constructions = 0
    durable_simulation.add_namespace("TARGET", Target)
    return durable_simulation.namespace("TARGET").getByName("t")


# -- RPC -------------------------------------------------------------------------


async def test_sync_method(stub):
    assert await stub.add(2, 3) == 5


async def test_async_method(stub):
    assert await stub.describe([1, "a"]) == {"value": [1, "a"], "type": "list"}


async def test_inherited_method(stub):
    assert await stub.inherited() == "from the base class"


async def test_mixin_method(stub):
    assert await stub.greet("ada") == "hello ada"


async def test_calls_share_one_instance(stub):
    await stub.add(1, 1)
    await stub.describe(None)

    assert await stub.count() == 2
    assert Target.constructions == 1


@pytest.mark.parametrize(
    "name",
    ["alarm", "webSocketMessage", "webSocketClose", "webSocketError", "connect", "dup"],
)
async def test_reserved_names_are_refused(stub, name):
    call = getattr(stub, name)()

    with pytest.raises(JsException) as caught:
        await call

    assert str(caught.value) == (
        f"TypeError: '{name}' is a reserved method and cannot be called over RPC."
    )


async def test_a_missing_method(stub):
    with pytest.raises(JsException) as caught:
        await stub.nothing_here()

    assert str(caught.value) == "TypeError: Method nothing_here does not exist"


async def test_an_attribute_that_is_not_callable(stub):
    with pytest.raises(JsException) as caught:
        await stub.setting()

    assert str(caught.value) == "TypeError: Method setting does not exist"


async def test_a_python_exception_reaches_the_caller_as_a_remote_error(stub):
    with pytest.raises(JsException) as caught:
        await stub.boom()

    error = caught.value
    assert error.remote is True
    assert error.name == "Error"
    assert error.message.startswith("PythonError: Traceback (most recent call last):")
    assert 'raise ValueError("boom")' in error.message
    assert error.message.endswith("\nValueError: boom")


async def test_a_python_exception_does_not_reset_the_object(stub):
    await stub.add(1, 2)

    with pytest.raises(JsException):
        await stub.boom()

    # Both calls ran on the same instance: its in-memory counter survived.
    assert await stub.count() == 2
    assert Target.constructions == 1


async def test_a_javascript_error_keeps_its_name(stub):
    with pytest.raises(JsException) as caught:
        await stub.oversized_key()

    # Oracle results/inmem_errors.json, key_2049_bytes.
    assert str(caught.value) == (
        "RangeError: Keys cannot be larger than 2048 bytes. A key of size 2049 was provided."
    )
    assert caught.value.name == "RangeError"
    assert caught.value.remote is True


async def test_keyword_arguments_arrive_as_one_object(stub):
    # Pyodide folds keyword arguments into a trailing JS object (reference 1.3).
    assert await stub.describe(value=5) == {"value": {"value": 5}, "type": "JsDict"}


async def test_rpc_methods_are_called_with_their_exact_arity(stub):
    with pytest.raises(JsException) as caught:
        await stub.add(1)

    assert caught.value.remote is True
    assert caught.value.message.endswith(
        "\nTypeError: Target.add() missing 1 required positional argument: 'b'"
    )


class FailingConstructor(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        raise RuntimeError("constructor failed")

    def method(self):
        return "unreachable"


async def test_a_constructor_error_reaches_every_caller(durable_simulation: Simulation):
    durable_simulation.add_namespace("FAILING", FailingConstructor)
    stub = durable_simulation.namespace("FAILING").getByName("f")

    for _ in range(2):
        with pytest.raises(JsException) as caught:
            await stub.method()

        assert caught.value.remote is True
        assert caught.value.message.endswith("\nRuntimeError: constructor failed")


class Caller(DurableObject):
    async def relay(self, name):
        return await self.env.TARGET.getByName(name).add(20, 22)


async def test_an_object_calls_another_through_env(durable_simulation: Simulation):
    durable_simulation.add_namespace("TARGET", Target)
    durable_simulation.add_namespace("CALLER", Caller)

    assert await durable_simulation.namespace("CALLER").getByName("c").relay("t") == 42


# -- fetch: what the object receives ------------------------------------------------


async def test_fetch_with_a_url(stub):
    response = await stub.fetch("https://example.com/path?q=1")

    assert await response.json() == {
        "method": "GET",
        "url": "https://example.com/path?q=1",
        "headers": {},
        "body": "",
        "is_request": True,
    }


async def test_fetch_with_method_headers_and_body(stub):
    response = await stub.fetch(
        "https://example.com/items",
        method="POST",
        headers={"X-Trace": "abc", "content-type": "application/json"},
        body='{"n": 1}',
    )

    assert await response.json() == {
        "method": "POST",
        "url": "https://example.com/items",
        "headers": {"content-type": "application/json", "x-trace": "abc"},
        "body": '{"n": 1}',
        "is_request": True,
    }


async def test_fetch_with_an_http_method_enum_and_bytes_body(stub):
    response = await stub.fetch("https://example.com/", method=HTTPMethod.PUT, body=b"raw")

    seen = await response.json()
    assert seen["method"] == "PUT"
    assert seen["body"] == "raw"


async def test_fetch_with_a_request(stub):
    request = Request("https://example.com/from-request", method="DELETE", headers=[("x-a", "1")])

    response = await stub.fetch(request)

    assert await response.json() == {
        "method": "DELETE",
        "url": "https://example.com/from-request",
        "headers": {"x-a": "1"},
        "body": "",
        "is_request": True,
    }


async def test_fetch_options_override_the_request(stub):
    request = Request("https://example.com/", method="POST", headers={"x-a": "1"}, body="old")

    response = await stub.fetch(request, method="PUT", headers={"x-b": "2"}, body="new")

    seen = await response.json()
    assert (seen["method"], seen["headers"], seen["body"]) == ("PUT", {"x-b": "2"}, "new")


async def test_fetch_adds_the_root_path(stub):
    response = await stub.fetch("https://example.com")

    assert (await response.json())["url"] == "https://example.com/"


class RequestReader(DurableObject):
    async def fetch(self, request):
        assert isinstance(request, workers.Request)
        parsed = await request.json()
        return Response(
            f"{request.method} {request.headers['x-kind']} {parsed['n'] + 1}",
            headers={"x-method-is-enum": str(request.method is HTTPMethod.PATCH)},
        )


async def test_the_object_reads_the_request(durable_simulation: Simulation):
    durable_simulation.add_namespace("READER", RequestReader)
    stub = durable_simulation.namespace("READER").getByName("r")

    response = await stub.fetch(
        "https://example.com/", method="PATCH", headers={"X-Kind": "json"}, body='{"n": 41}'
    )

    assert await response.text() == "PATCH json 42"
    assert response.headers["x-method-is-enum"] == "True"


async def test_a_relative_url_is_refused(stub):
    with pytest.raises(AbortError) as caught:
        await stub.fetch("/relative")

    assert isinstance(caught.value, OSError)
    # Pyodide's AbortError carries the JavaScript message, without the name
    # (pyodide/http/_exceptions.py); "Invalid URL: <url>" is the Request
    # constructor's TypeError.
    assert str(caught.value) == "Invalid URL: /relative"
    assert Target.constructions == 0


class NoRequestParameter(DurableObject):
    async def fetch(self):
        return Response("no request needed")


async def test_fetch_handler_may_ignore_the_request(durable_simulation: Simulation):
    # fetch is called relaxed: arguments it does not take are dropped (reference 1.3).
    durable_simulation.add_namespace("RELAXED", NoRequestParameter)
    stub = durable_simulation.namespace("RELAXED").getByName("r")

    response = await stub.fetch("https://example.com/")

    assert await response.text() == "no request needed"


class NotAResponse(DurableObject):
    async def fetch(self, request):
        return "just text"


async def test_a_fetch_handler_must_return_a_response(durable_simulation: Simulation):
    durable_simulation.add_namespace("BAD", NotAResponse)
    stub = durable_simulation.namespace("BAD").getByName("b")

    with pytest.raises(AbortError) as caught:
        await stub.fetch("https://example.com/")

    assert str(caught.value) == (
        "Incorrect type for Promise: the Promise did not resolve to 'Response'."
    )


class RaisingFetch(DurableObject):
    async def fetch(self, request):
        raise KeyError("missing")


async def test_an_exception_in_fetch_reaches_the_caller(durable_simulation: Simulation):
    durable_simulation.add_namespace("RAISING", RaisingFetch)
    stub = durable_simulation.namespace("RAISING").getByName("r")

    with pytest.raises(AbortError) as caught:
        await stub.fetch("https://example.com/")

    assert str(caught.value).startswith("PythonError: Traceback (most recent call last):")
    assert str(caught.value).endswith("KeyError: 'missing'")


# -- Response ---------------------------------------------------------------------


class Responder(DurableObject):
    async def fetch(self, request):
        kind = request.url.rsplit("/", 1)[-1]
        if kind == "plain":
            return Response("hi")
        if kind == "full":
            return Response(
                b"\x00\x01created", status=201, status_text="Made", headers={"X-Id": "7"}
            )
        if kind == "json":
            return Response.json({"ok": True, "items": [1, 2]})
        if kind == "from_json":
            return Response.from_json([1, 2], status=202, headers={"x-extra": "yes"})
        return Response("nothing here", status=404)


@pytest.fixture
def responder(durable_simulation: Simulation):
    durable_simulation.add_namespace("RESPONDER", Responder)
    return durable_simulation.namespace("RESPONDER").getByName("r")


async def test_response_defaults(responder):
    response = await responder.fetch("https://example.com/plain")

    assert response.status == 200
    assert response.ok is True
    assert response.status_text == "OK"
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert await response.text() == "hi"


async def test_response_with_status_text_headers_and_bytes(responder):
    response = await responder.fetch("https://example.com/full")

    assert response.status == 201
    assert response.status_text == "Made"
    assert response.headers["x-id"] == "7"
    assert response.headers.get("X-ID") == "7"
    assert "content-type" not in response.headers
    assert await response.bytes() == b"\x00\x01created"


async def test_response_json(responder):
    response = await responder.fetch("https://example.com/json")

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert await response.json() == {"ok": True, "items": [1, 2]}


async def test_response_from_json(responder):
    response = await responder.fetch("https://example.com/from_json")

    assert response.status == 202
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-extra"] == "yes"
    assert await response.text() == "[1, 2]"


async def test_response_not_found(responder):
    response = await responder.fetch("https://example.com/missing")

    assert response.status == 404
    assert response.ok is False
    assert response.status_text == "Not Found"
    assert await response.text() == "nothing here"


async def test_headers_read_like_an_http_message(responder):
    response = await responder.fetch("https://example.com/full")

    headers = response.headers
    assert headers.get_all("x-id") == ["7"]
    assert list(headers.items()) == [("x-id", "7")]
    assert headers.get("absent", "default") == "default"


@pytest.mark.parametrize("reader", ["text", "bytes", "json"])
async def test_a_body_reads_once(responder, reader):
    response = await responder.fetch("https://example.com/json")
    await response.text()

    with pytest.raises(OSError, match=r"^Response body is already used$"):
        await getattr(response, reader)()

    assert response.body_used is True


async def test_a_response_built_in_the_test():
    response = Response("made here", status=202, headers=[("x-a", "1"), ("x-b", "2")])

    assert response.status == 202
    assert response.status_text == "Accepted"
    assert dict(response.headers.items()) == {
        "content-type": "text/plain;charset=UTF-8",
        "x-a": "1",
        "x-b": "2",
    }
    assert await response.text() == "made here"


# -- legacy handler names ------------------------------------------------------------


class LegacyHandlers(DurableObject):
    fetch_calls = 0

    async def on_fetch(self, request):
        return Response("on_fetch answered")

    async def fetch(self, request):
        LegacyHandlers.fetch_calls += 1
        return Response("fetch answered")


async def test_on_fetch_is_the_handler_before_2025_08_14():
    # The python_no_global_handlers flag is on from 2025-08-14 (reference 1.2).
    LegacyHandlers.fetch_calls = 0
    simulation = Simulation(compat=Compat("2024-06-01"))
    simulation.add_namespace("LEGACY", LegacyHandlers)

    async with simulation:
        response = await simulation.namespace("LEGACY").getByName("l").fetch("https://example.com/")

        assert await response.text() == "on_fetch answered"
    assert LegacyHandlers.fetch_calls == 0


async def test_fetch_is_the_handler_from_2025_08_14():
    simulation = Simulation(compat=Compat("2025-08-14"))
    simulation.add_namespace("LEGACY", LegacyHandlers)

    async with simulation:
        response = await simulation.namespace("LEGACY").getByName("l").fetch("https://example.com/")

        assert await response.text() == "fetch answered"


class Messenger(DurableObject):
    def request(self):
        return Request("https://example.com/")

    def take(self, value):
        return "taken"


@pytest.mark.durable_object(cls=Messenger)
async def test_requests_and_responses_over_rpc_are_not_modelled(durable_ns):
    # The runtime streams them across RPC; the simulator says it does not, and
    # that reaches the test as it is, not as an error of the simulated runtime.
    with pytest.raises(NotImplementedError, match="passing a Request or Response over RPC"):
        await durable_ns.getByName("m").request()
    with pytest.raises(NotImplementedError, match="passing a Request or Response over RPC"):
        await durable_ns.getByName("m").take(Request("https://example.com/"))


class Statuses(DurableObject):
    async def fetch(self, request):
        if request.url.endswith("/204"):
            return Response("body!", status=204)
        return Response("hello")


@pytest.mark.durable_object(cls=Statuses)
async def test_null_body_statuses_and_head_requests(durable_ns):
    stub = durable_ns.getByName("s")
    # workerd http.c++: a null-body status refuses a non-empty body.
    with pytest.raises(OSError, match=r"Response with null body status \(101, 204, 205, or 304\)"):
        await stub.fetch("https://example.com/204")
    head = await stub.fetch("https://example.com/", method="HEAD")
    assert head.status == 200
    assert await head.text() == ""  # a HEAD response carries no body to its caller
