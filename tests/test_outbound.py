"""Outbound ``fetch()`` from Worker and Durable Object code: blocked unless
the test mocks it (respx, pytest-httpx, the durable_fetch_transport fixture)
or aims it at a loopback server of its own."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import respx
from pyodide.http import pyfetch
from pytester_helpers import literally
from workers import DurableObject, Response, WorkerEntrypoint, fetch

from pytest_durable import JsException, OutboundFetchBlocked, Simulation

UPSTREAM = "https://api.upstream.example"
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""
BLOCKED = (
    "pytest-durable: outbound fetch to {url} was blocked: tests never reach the network. "
    "Mock it with respx or pytest-httpx, or give the test a transport by overriding the "
    "durable_fetch_transport fixture (for example httpx.MockTransport(handler))."
)


class Proxy(DurableObject):
    """Fetches what it is told to and reports what came back."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.log = []

    async def get(self, url, redirect="follow"):
        response = await fetch(url, redirect=redirect)
        return {
            "status": response.status,
            "url": response.url,
            "redirected": response.redirected,
            "body": await response.text(),
        }

    async def send(self, url, method, headers, body):
        response = await fetch(url, method=method, headers=headers, body=body)
        return {
            "status": response.status,
            "status_text": response.status_text,
            "headers": dict(response.headers.items()),
            "json": await response.json(),
        }

    async def swallow(self, url):
        try:
            await fetch(url)
        except OSError:
            return "caught as a network error"
        except OutboundFetchBlocked as exc:
            return str(exc)
        return "fetched"

    async def slow(self):
        self.log.append("slow: sent")
        response = await fetch(f"{UPSTREAM}/slow")
        self.log.append(f"slow: {await response.text()}")
        return list(self.log)

    async def quick(self):
        self.log.append("quick")
        return list(self.log)


class Default(WorkerEntrypoint):
    """Passes a client's request on to the upstream, body and all."""

    async def fetch(self, request):
        path = request.url.removeprefix("https://example.com")
        upstream = await fetch(
            f"{UPSTREAM}{path}",
            method=request.method,
            headers={"x-via": "worker"},
            body=await request.text() or None,
        )
        return Response(
            await upstream.text(),
            status=upstream.status,
            headers={"x-upstream": upstream.headers.get("x-upstream") or "none"},
        )


pytestmark = pytest.mark.durable_object(cls=Proxy, binding="PROXY")


@pytest.fixture(autouse=True)
def worker(durable_simulation: Simulation) -> None:
    durable_simulation.set_worker(Default)


@pytest.fixture
def proxy(durable_ns):
    return durable_ns.getByName("p")


# -- blocked by default -------------------------------------------------------------


async def test_an_unmocked_fetch_is_blocked_naming_the_url(proxy, durable_simulation):
    url = f"{UPSTREAM}/v1/items?page=2"

    # Worker code sees OutboundFetchBlocked; a RuntimeError, so a handler for
    # network errors (OSError) does not swallow it.
    assert await proxy.swallow(url) == BLOCKED.format(url=url)
    assert durable_simulation.blocked_fetches == [url]
    durable_simulation.blocked_fetches.clear()


async def test_the_block_reaches_the_caller_through_rpc(proxy, durable_simulation):
    url = f"{UPSTREAM}/v1/items"

    with pytest.raises(JsException) as caught:
        await proxy.get(url)

    assert caught.value.message.endswith(
        f"OutboundFetchBlocked: {BLOCKED.format(url=url)}"
    )
    durable_simulation.blocked_fetches.clear()


async def test_the_block_reaches_test_code_that_fetches_itself(durable_simulation):
    with pytest.raises(OutboundFetchBlocked) as caught:
        await fetch("https://example.org/")

    assert str(caught.value) == BLOCKED.format(url="https://example.org/")
    durable_simulation.blocked_fetches.clear()


SWALLOWING_PROJECT = """
import pytest
from workers import DurableObject, fetch


class Quiet(DurableObject):
    async def ping(self, url):
        try:
            await fetch(url)
        except Exception:
            return "pretended all was well"


pytestmark = pytest.mark.durable_object(cls=Quiet)


async def test_swallowed(durable_ns):
    quiet = durable_ns.getByName("q")
    assert await quiet.ping("https://one.example/a") == "pretended all was well"
    assert await quiet.ping("https://two.example/b?c=d") == "pretended all was well"


async def test_expected(durable_ns, durable_simulation):
    assert await durable_ns.getByName("q").ping("https://one.example/a") == "pretended all was well"
    assert durable_simulation.blocked_fetches == ["https://one.example/a"]
    durable_simulation.blocked_fetches.clear()
"""


def test_a_swallowed_block_still_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_quiet=SWALLOWING_PROJECT)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "_* ERROR at teardown of test_swallowed _*",
            literally(
                "pytest-durable: outbound fetch() was blocked (tests never reach the network):"
            ),
            literally("- https://one.example/a"),
            literally("- https://two.example/b?c=d"),
            literally(
                "Mock these with respx or pytest-httpx, or override the durable_fetch_transport "
                "fixture; a test that expects the block can clear "
                "durable_simulation.blocked_fetches."
            ),
            "=* short test summary info =*",
        ],
        consecutive=True,
    )


# -- respx and pytest-httpx -----------------------------------------------------------


@respx.mock
async def test_respx_as_a_decorator(proxy):
    route = respx.get(f"{UPSTREAM}/v1/items").mock(
        return_value=httpx.Response(200, text="from respx")
    )

    result = await proxy.get(f"{UPSTREAM}/v1/items")

    assert result == {
        "status": 200,
        "url": f"{UPSTREAM}/v1/items",
        "redirected": False,
        "body": "from respx",
    }
    assert route.call_count == 1


async def test_respx_as_a_context_manager(proxy):
    with respx.mock(base_url=UPSTREAM) as mock:
        route = mock.post("/v1/items").mock(return_value=httpx.Response(201, json={"id": 7}))

        result = await proxy.send(
            f"{UPSTREAM}/v1/items", "POST", {"content-type": "application/json"}, '{"a": 1}'
        )

    assert result["status"] == 201
    assert result["json"] == {"id": 7}
    sent = route.calls.last.request
    assert (sent.method, sent.headers["content-type"], sent.content) == (
        "POST",
        "application/json",
        b'{"a": 1}',
    )


async def test_respx_refuses_what_it_does_not_mock(proxy, durable_simulation):
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{UPSTREAM}/known").mock(return_value=httpx.Response(204))

        with pytest.raises(JsException) as caught:
            await proxy.get(f"{UPSTREAM}/unknown")

    # respx answered (with its own error), so nothing was blocked.
    assert "AllMockedAssertionError: RESPX: <Request('GET', " in caught.value.message
    assert durable_simulation.blocked_fetches == []


async def test_pytest_httpx(proxy, httpx_mock):
    httpx_mock.add_response(
        url=f"{UPSTREAM}/v1/items",
        method="PUT",
        status_code=202,
        headers={"x-request-id": "r-1"},
        json={"saved": True},
    )

    result = await proxy.send(f"{UPSTREAM}/v1/items", "PUT", {"x-token": "t"}, "data")

    assert result["status"] == 202
    assert result["headers"]["x-request-id"] == "r-1"
    assert result["json"] == {"saved": True}
    [sent] = httpx_mock.get_requests()
    assert (sent.method, sent.headers["x-token"], sent.content) == ("PUT", "t", b"data")


# -- a transport of the test's own ----------------------------------------------------


class TestATransportOfItsOwn:
    """``durable_fetch_transport`` overridden for the tests of one class."""

    @pytest.fixture
    def seen(self) -> list[httpx.Request]:
        return []

    @pytest.fixture
    def durable_fetch_transport(self, seen: list[httpx.Request]) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.path == "/slow":
                await asyncio.sleep(1)  # virtual time: the fake clock moves
                return httpx.Response(200, text="answered")
            if request.url.path == "/moved":
                return httpx.Response(302, headers={"location": "/here"})
            if request.url.path == "/here":
                return httpx.Response(200, text="arrived")
            return httpx.Response(
                418,
                headers={"x-upstream": "teapot", "content-type": "application/json"},
                json={"got": request.content.decode()},
                extensions={"reason_phrase": b"Short and Stout"},
            )

        return httpx.MockTransport(handler)

    async def test_the_request_arrives_as_sent(self, proxy, seen):
        await proxy.send(
            f"{UPSTREAM}/v1/brew?pot=1", "PATCH", {"x-one": "1", "x-two": "2"}, "earl grey"
        )

        [request] = seen
        assert request.method == "PATCH"
        assert str(request.url) == f"{UPSTREAM}/v1/brew?pot=1"
        assert (request.headers["x-one"], request.headers["x-two"]) == ("1", "2")
        assert request.content == b"earl grey"
        # httpx's own User-Agent does not go out: Worker code did not set one.
        assert "user-agent" not in request.headers

    async def test_the_response_reaches_worker_code(self, proxy):
        result = await proxy.send(f"{UPSTREAM}/v1/brew", "POST", {}, "green")

        assert result["status"] == 418
        assert result["status_text"] == "Short and Stout"
        assert result["headers"]["x-upstream"] == "teapot"
        assert result["json"] == {"got": "green"}

    async def test_redirects_are_followed(self, proxy, seen):
        result = await proxy.get(f"{UPSTREAM}/moved")

        assert result == {
            "status": 200,
            "url": f"{UPSTREAM}/here",
            "redirected": True,
            "body": "arrived",
        }
        assert [str(r.url) for r in seen] == [f"{UPSTREAM}/moved", f"{UPSTREAM}/here"]

    async def test_redirect_manual_returns_the_redirect(self, proxy):
        result = await proxy.get(f"{UPSTREAM}/moved", "manual")

        assert (result["status"], result["url"], result["redirected"]) == (
            302,
            f"{UPSTREAM}/moved",
            False,
        )

    async def test_pyfetch_uses_the_same_transport(self, durable_simulation):
        response = await pyfetch(f"{UPSTREAM}/v1/brew", method="POST", body="oolong")

        assert response.status == 418
        assert await response.json() == {"got": "oolong"}

    async def test_awaiting_a_fetch_opens_the_input_gate(self, proxy, durable_clock):
        started = durable_clock.now_ms

        slow = asyncio.ensure_future(proxy.slow())
        await asyncio.sleep(0)
        # While slow() awaits its response, another call to the same object runs.
        assert await proxy.quick() == ["slow: sent", "quick"]

        assert await slow == ["slow: sent", "quick", "slow: answered"]
        assert durable_clock.now_ms - started == 1000

    async def test_worker_code_fetches_through_it_too(self, durable_client, seen):
        response = await durable_client.post("/v1/brew", content="rooibos")

        assert response.status_code == 418
        assert response.headers["x-upstream"] == "teapot"
        assert response.json() == {"got": "rooibos"}
        [request] = seen
        assert (request.method, str(request.url)) == ("POST", f"{UPSTREAM}/v1/brew")
        assert request.headers["x-via"] == "worker"


MODULE_TRANSPORT_PROJECT = """
import httpx
import pytest
from workers import fetch


@pytest.fixture
def durable_fetch_transport():
    return httpx.MockTransport(lambda request: httpx.Response(200, text=f"mocked {request.url}"))


async def test_module_transport(durable_simulation):
    response = await fetch("https://anywhere.example/x")
    assert await response.text() == "mocked https://anywhere.example/x"
    assert durable_simulation.blocked_fetches == []
"""


def test_a_module_level_transport_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_module=MODULE_TRANSPORT_PROJECT)

    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


# -- a loopback server the test starts ------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "https://far.away.example/")
            self.end_headers()
            return
        body = json.dumps({"path": self.path, "x-hello": self.headers["x-hello"]}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def thread_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
async def asyncio_server(durable_simulation: Simulation) -> AsyncIterator[str]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode().rstrip()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        body = request_line.encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def test_a_loopback_server_in_a_thread(proxy, thread_server):
    result = await proxy.send(f"{thread_server}/hello", "GET", {"x-hello": "there"}, None)

    assert result["status"] == 200
    assert result["json"] == {"path": "/hello", "x-hello": "there"}


async def test_a_loopback_server_on_the_event_loop(proxy, asyncio_server):
    result = await proxy.get(f"{asyncio_server}/from/the/loop")

    assert (result["status"], result["body"]) == (200, "GET /from/the/loop HTTP/1.1")


async def test_a_redirect_away_from_loopback_is_blocked(proxy, thread_server, durable_simulation):
    assert await proxy.swallow(f"{thread_server}/away") == BLOCKED.format(
        url="https://far.away.example/"
    )
    assert durable_simulation.blocked_fetches == ["https://far.away.example/"]
    durable_simulation.blocked_fetches.clear()
