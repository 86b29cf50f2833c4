"""Outbound ``fetch()`` from Worker and Durable Object code, through httpx.

A request to a URL outside the simulation goes through an
``httpx.AsyncClient``. Which transport carries it, in order:

1. the transport the test supplied (the ``durable_fetch_transport``
   fixture, or ``Simulation(fetch_transport=...)``);
2. httpx's own transport, when respx or pytest-httpx is mocking httpx (so
   their mocks answer, unchanged);
3. httpx's own transport for loopback hosts (127.0.0.1, ::1, localhost),
   so a test can talk to a server it started itself;
4. otherwise nothing: the request fails with ``OutboundFetchBlocked``,
   naming the URL and how to mock it. A test never reaches the internet.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

import httpcore
import httpx

from ._http import JsHeaders, JsRequest, JsResponse

__all__ = ["OutboundFetchBlocked", "send"]

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "[::1]", "localhost"})
MAX_REDIRECTS: Final = 20
"""How many redirects fetch() follows (workerd's, from the Fetch standard)."""

# What httpx and httpcore look like before any mock starts: respx patches
# httpcore's connection pool, pytest-httpx httpx's transport.
_PRISTINE: Final = (
    httpx.AsyncHTTPTransport.handle_async_request,
    httpcore.AsyncConnectionPool.handle_async_request,
)


class OutboundFetchBlocked(RuntimeError):
    """An outbound request that no mock or transport answers.

    A ``RuntimeError``, not an ``OSError``: Worker code that catches network
    errors must not swallow it.
    """


def _httpx_is_mocked() -> bool:
    current = (
        httpx.AsyncHTTPTransport.handle_async_request,
        httpcore.AsyncConnectionPool.handle_async_request,
    )
    return current != _PRISTINE


async def send(
    request: JsRequest,
    transport: httpx.AsyncBaseTransport | None,
    blocked: list[str] | None = None,
) -> JsResponse:
    """Carry one outbound request and return the runtime's response.

    Redirects are followed as fetch() follows them (``redirect: "manual"``
    returns the 3xx instead), and each hop is checked like the first. A
    blocked request's URL is appended to ``blocked`` too, so that the test
    fails even when Worker code catches the error."""

    def check(url: str) -> None:
        if transport is None and not _httpx_is_mocked() and urlsplit(url).hostname not in _LOOPBACK:
            if blocked is not None:
                blocked.append(url)
            raise OutboundFetchBlocked(
                f"pytest-durable: outbound fetch to {url} was blocked: tests never reach the "
                "network. Mock it with respx or pytest-httpx, or give the test a transport by "
                "overriding the durable_fetch_transport fixture (for example "
                "httpx.MockTransport(handler))."
            )

    async def check_hop(hop: httpx.Request) -> None:
        check(str(hop.url))

    check(request.url)
    # No timeout (fetch() has none) and no proxies from the environment: a
    # request to a loopback server must go straight to it.
    client = httpx.AsyncClient(
        transport=transport,
        follow_redirects=request.redirect == "follow",
        max_redirects=MAX_REDIRECTS,
        timeout=None,
        trust_env=False,
        event_hooks={"request": [check_hop]},
    )
    # What the Worker set goes out, without httpx's own User-Agent and Connection.
    del client.headers["User-Agent"], client.headers["Connection"]
    try:
        response = await client.request(
            request.method,
            request.url,
            headers=list(request.headers._items),
            content=request._body,
        )
        body = await response.aread()
    finally:
        if transport is None:
            await client.aclose()  # the test's own transport is the test's to close
    headers = JsHeaders()
    for name, value in response.headers.multi_items():
        headers.append(name, value)
    result = JsResponse(body or None, response.status_code, response.reason_phrase, headers)
    result.url = str(response.url) if response.history else request.url
    result.redirected = bool(response.history)
    return result


def as_httpx_response(response: JsResponse, request: httpx.Request) -> httpx.Response:
    """A runtime response as httpx returns it to a test's client."""
    return httpx.Response(
        status_code=response._status,
        headers=list(response.headers._items),
        content=response._body or b"",
        request=request,
        extensions={"reason_phrase": response.statusText.encode()},
    )


def from_httpx_request(request: httpx.Request, body: bytes) -> JsRequest:
    headers = JsHeaders()
    for name, value in request.headers.multi_items():
        headers.append(name, value)
    return JsRequest(str(request.url), request.method, headers, body or None)

