"""HTTP messages: the runtime's ``Request``/``Response``/``Headers``, and the
SDK's Python ``Request``/``Response`` around them.

The JavaScript side (``JsRequest``, ``JsResponse``, ``JsHeaders``) holds what
workerd holds: a status, headers and a body that can be read once. The Python
side mirrors ``workers.Request`` and ``workers.Response`` (which build on
Pyodide's ``FetchResponse``): the same constructor arguments, properties,
async body readers and errors.
"""

from __future__ import annotations

import http.client
import json as _json
from collections.abc import Iterable, Mapping
from http import HTTPMethod, HTTPStatus
from typing import Any, cast
from urllib.parse import urlsplit

from . import _errors
from ._errors import JsException, NotModelled
from ._js import NULL, UNDEFINED, HostObject, JsArray, JsArrayBuffer, JsMap, JsObject, JsUint8Array
from ._pyodide import JsPromise, JsProxy, to_js_implicit

__all__ = ["FetchResponse", "JsHeaders", "JsRequest", "JsResponse", "Request", "Response"]

_STANDARD_METHODS = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"}


def parse_url(url: str) -> str:
    """Validate an absolute http(s) URL as the runtime's ``Request`` does."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise _errors.type_error(_errors.INVALID_URL.format(url=url))
    if parts.scheme not in ("http", "https"):
        raise _errors.type_error(_errors.FETCH_INVALID_URL.format(url=url))
    if not parts.path:
        url = f"{parts.scheme}://{parts.netloc}/" + (f"?{parts.query}" if parts.query else "")
    return url


class JsHeaders(HostObject):
    js_class = "Headers"
    js_members = frozenset({"get", "set", "has", "append", "delete", "entries", "getSetCookie"})

    def __init__(self, init: Any = UNDEFINED) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in _header_pairs(init):
            self.append(name, value)

    def js_iter(self) -> Iterable[Any]:
        return [JsArray([k, v]) for k, v in self._combined()]

    def _combined(self) -> list[tuple[str, str]]:
        merged: dict[str, list[str]] = {}
        for name, value in self._items:
            merged.setdefault(name, []).append(value)
        return [
            (name, ", ".join(values))
            for name, values in sorted(merged.items())
            if name != "set-cookie"
        ] + [(name, value) for name, value in self._items if name == "set-cookie"]

    def get(self, name: str) -> Any:
        values = [v for k, v in self._items if k == name.lower()]
        return ", ".join(values) if values else NULL

    def set(self, name: str, value: str) -> None:
        self.delete(name)
        self.append(name, value)

    def append(self, name: Any, value: Any) -> None:
        from ._js import to_js_string

        self._items.append((to_js_string(name).lower(), to_js_string(value).strip()))

    def has(self, name: str) -> bool:
        return any(k == name.lower() for k, _ in self._items)

    def delete(self, name: str) -> None:
        self._items = [(k, v) for k, v in self._items if k != name.lower()]

    def entries(self) -> JsArray:
        return JsArray(self.js_iter())

    def getSetCookie(self) -> JsArray:
        return JsArray(v for k, v in self._items if k == "set-cookie")

    def copy(self) -> JsHeaders:
        clone = JsHeaders()
        clone._items = list(self._items)
        return clone


def _header_pairs(init: Any) -> list[tuple[Any, Any]]:
    if init is UNDEFINED or init is NULL:
        return []
    if isinstance(init, JsHeaders):
        return list(init._items)
    if isinstance(init, JsObject):
        return list(init.props.items())
    if isinstance(init, JsMap):
        return list(init.entries.items())
    if isinstance(init, JsArray):
        pairs = []
        for pair in init.items:
            if not isinstance(pair, JsArray) or len(pair.items) != 2:
                raise _errors.type_error(_errors.BAD_HEADERS)
            pairs.append((pair.items[0], pair.items[1]))
        return pairs
    from ._js import PyProxy

    if isinstance(init, PyProxy):
        return [tuple(pair) for pair in cast("Iterable[Any]", init.obj)]
    raise _errors.type_error(_errors.BAD_HEADERS)


def _body_bytes(body: Any) -> bytes | None:
    if body is UNDEFINED or body is NULL:
        return None
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (JsUint8Array, JsArrayBuffer)):
        return bytes(body.data)
    from ._js import PyProxy

    if isinstance(body, PyProxy) and isinstance(body.obj, (bytes, bytearray, memoryview)):
        return bytes(body.obj)
    raise NotModelled(
        f"a {getattr(body, 'js_class', type(body).__name__)} body is not modelled by "
        "pytest-durable; use str or bytes"
    )


class _Body(HostObject):
    """What Request and Response share: a body that can be read once."""

    def __init__(self, body: bytes | None, headers: JsHeaders) -> None:
        self._body = body
        self.headers = headers
        self.bodyUsed = False

    @property
    def body(self) -> Any:
        return NULL if self._body is None else JsUint8Array(self._body)

    def _take(self) -> bytes:
        if self.bodyUsed:
            raise _errors.type_error(_errors.BODY_USED)
        self.bodyUsed = self._body is not None
        return self._body or b""

    def text(self) -> JsPromise:
        try:
            return JsPromise.resolve(self._take().decode("utf-8", "replace"))
        except JsException as exc:
            return JsPromise.reject(exc)

    def arrayBuffer(self) -> JsPromise:
        try:
            return JsPromise.resolve(JsArrayBuffer(self._take()))
        except JsException as exc:
            return JsPromise.reject(exc)

    def json(self) -> JsPromise:
        raise NotModelled(
            "JavaScript Body.json() is not modelled by pytest-durable; "
            "use the Python wrapper's json()"
        )

    def formData(self) -> Any:
        raise NotModelled("FormData bodies are not modelled by pytest-durable")

    def blob(self) -> Any:
        raise NotModelled("Blob bodies are not modelled by pytest-durable")


class JsRequest(_Body):
    js_class = "Request"
    js_members = frozenset(
        {"url", "method", "headers", "body", "bodyUsed", "text", "arrayBuffer", "json",
         "clone", "cf", "redirect", "signal", "formData", "blob"}
    )

    def __init__(self, url: str, method: str = "GET", headers: JsHeaders | None = None,
                 body: bytes | None = None) -> None:
        super().__init__(body, headers or JsHeaders())
        self.url = url
        upper = method.upper()
        self.method = upper if upper in _STANDARD_METHODS else method
        self.cf = UNDEFINED
        self.redirect = "follow"
        if body is not None and self.method in ("GET", "HEAD"):
            raise _errors.type_error(_errors.GET_WITH_BODY)

    @classmethod
    def construct(cls, input: Any, init: Any = UNDEFINED) -> JsRequest:
        options = init.props if isinstance(init, JsObject) else {}
        # cf (Cloudflare's cache and image options) has no effect on a simulated request.
        unknown = set(options) - {"method", "headers", "body", "redirect", "cf"}
        redirect = "follow"
        if isinstance(input, JsRequest):
            base = input
            url = base.url
            method = base.method
            headers = base.headers.copy()
            body = base._body
            redirect = base.redirect
        else:
            from ._js import to_js_string

            url = parse_url(to_js_string(input))
            method, headers, body = "GET", JsHeaders(), None
        if unknown:
            names = ", ".join(sorted(unknown))
            raise NotModelled(f"Request option(s) not modelled by pytest-durable: {names}")
        if "method" in options:
            from ._js import to_js_string

            method = to_js_string(options["method"])
        if "headers" in options:
            headers = JsHeaders(options["headers"])
        if "body" in options:
            body = _body_bytes(options["body"])
        request = cls(url, method, headers, body)
        request.redirect = _redirect_mode(options.get("redirect", redirect))
        return request

    @property
    def signal(self) -> Any:
        raise NotModelled("Request.signal is not modelled by pytest-durable")

    def clone(self) -> JsRequest:
        clone = JsRequest(self.url, self.method, self.headers.copy(), self._body)
        clone.redirect = self.redirect
        return clone


def _redirect_mode(value: Any) -> str:
    from ._js import to_js_string

    mode = to_js_string(value)
    if mode not in ("follow", "manual"):
        raise JsException(
            "TypeError",
            'Invalid redirect value, must be one of "follow" or "manual" ("error" won\'t be '
            'implemented since it does not make sense at the edge; use "manual" and check the '
            'response status code).',
        )
    return mode


class JsResponse(_Body):
    js_class = "Response"
    js_members = frozenset(
        {"status", "statusText", "headers", "body", "bodyUsed", "ok", "url", "type",
         "redirected", "webSocket", "text", "arrayBuffer", "json", "clone", "formData", "blob"}
    )

    def __init__(self, body: bytes | None = None, status: int = 200, status_text: str = "",
                 headers: JsHeaders | None = None, web_socket: Any = NULL) -> None:
        super().__init__(body, headers or JsHeaders())
        if web_socket is NULL:
            if not 200 <= status <= 599:
                raise _errors.range_error(_errors.BAD_RESPONSE_STATUS)
        elif status != 101:
            raise _errors.range_error(_errors.WEBSOCKET_RESPONSE_STATUS)
        if status in (101, 204, 205, 304) and body:
            raise _errors.type_error(_errors.NULL_BODY_STATUS)
        self._status = status
        self.statusText = status_text or _default_status_text(status)
        self.webSocket = web_socket
        self.url = ""
        self.type = "default"
        self.redirected = False

    @property
    def ok(self) -> bool:
        return 200 <= self._status <= 299

    @property
    def status(self) -> float:
        return float(self._status)  # a JavaScript number

    @classmethod
    def construct(cls, body: Any = UNDEFINED, init: Any = UNDEFINED) -> JsResponse:
        options = init.props if isinstance(init, JsObject) else {}
        known = {"status", "statusText", "headers", "webSocket", "encodeBody", "cf"}
        unknown = set(options) - known
        if unknown:
            names = ", ".join(sorted(unknown))
            raise NotModelled(f"Response option(s) not modelled by pytest-durable: {names}")
        status = options.get("status", 200.0)
        headers = JsHeaders(options.get("headers", UNDEFINED))
        data = _body_bytes(body)
        if isinstance(body, str) and not headers.has("content-type"):
            headers.set("content-type", "text/plain;charset=UTF-8")
        return cls(data, int(status), options.get("statusText", ""), headers,
                   options.get("webSocket", NULL))

    def clone(self) -> JsResponse:
        if self.bodyUsed:
            raise _errors.type_error(_errors.BODY_USED)
        clone = JsResponse(self._body, self._status, self.statusText, self.headers.copy(),
                           self.webSocket)
        clone.url = self.url
        return clone


def _default_status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- the Python side -------------------------------------------------------------


# HTTPMessage's keys/values/items/__contains__ win over Mapping's, as in the SDK.
class HTTPMessageMapping(http.client.HTTPMessage, Mapping[str, str]):  # type: ignore[misc]
    """The type of ``Request.headers`` and ``Response.headers`` in the SDK."""


def _headers_message(headers: JsHeaders) -> HTTPMessageMapping:
    result = HTTPMessageMapping()
    for name, value in headers._combined():
        result[name] = value.strip()
    return result


def to_js_headers(headers: Any) -> JsProxy:
    if isinstance(headers, list):
        return JsProxy(JsHeaders(JsArray(JsArray([k, v]) for k, v in headers)))
    if isinstance(headers, dict):
        return JsProxy(JsHeaders(JsArray(JsArray([k, v]) for k, v in headers.items())))
    if isinstance(headers, JsProxy) and isinstance(headers._js, JsHeaders):
        return headers
    raise TypeError("Received unexpected type for headers argument")


def _js_body(body: Any) -> Any:
    if body is None:
        return None
    if isinstance(body, bytes):
        return JsProxy(JsUint8Array(body))
    return body


class FetchResponse:
    """Pyodide's ``pyodide.http.FetchResponse`` with the SDK's additions."""

    def __init__(self, url: str, js_response: JsProxy) -> None:
        self._url = url
        self.js_response = js_response

    @property
    def _js(self) -> JsResponse:
        response: JsResponse = self.js_response._js
        return response

    @property
    def js_object(self) -> JsProxy:
        return self.js_response

    @property
    def body_used(self) -> bool:
        return self._js.bodyUsed

    @property
    def headers(self) -> HTTPMessageMapping:
        return _headers_message(self._js.headers)

    @property
    def ok(self) -> bool:
        return self._js.ok

    @property
    def redirected(self) -> bool:
        return self._js.redirected

    @property
    def status(self) -> int:
        return self._js._status

    @property
    def status_text(self) -> str:
        return self._js.statusText

    @property
    def type(self) -> str:
        return self._js.type

    @property
    def url(self) -> str:
        return self._js.url

    @property
    def body(self) -> Any:
        raise NotModelled(
            "Response.body (a ReadableStream) is not modelled by pytest-durable; "
            "read the body with text(), bytes() or json()"
        )

    @property
    def web_socket(self) -> Any:
        """The client end of a 101 response's WebSocket, for the test to
        drive (a ``WebSocketClient``), or None."""
        from ._websocket import WebSocket, WebSocketClient

        ws = self._js.webSocket
        if not isinstance(ws, WebSocket):
            return None
        return ws.client or WebSocketClient(ws, None)

    def _raise_if_failed(self) -> None:
        if self._js.bodyUsed:
            raise OSError(_errors.BODY_ALREADY_USED)

    def raise_for_status(self) -> None:
        status = self.status
        kind = "Client" if 400 <= status < 500 else "Server" if 500 <= status < 600 else ""
        if kind:
            raise OSError(f"{self.status} {kind} Error: {self.status_text} for url: {self.url}")

    def clone(self) -> Response:
        self._raise_if_failed()
        return Response(JsProxy(self._js.clone()))

    async def text(self) -> str:
        self._raise_if_failed()
        result: str = await self.js_response.text()
        return result

    async def string(self) -> str:
        return await self.text()

    async def json(self, **kwargs: Any) -> Any:
        self._raise_if_failed()
        return _json.loads(await self.text(), **kwargs)

    async def buffer(self) -> JsProxy:
        self._raise_if_failed()
        result: JsProxy = await self.js_response.arrayBuffer()
        return result

    async def bytes(self) -> bytes:
        self._raise_if_failed()
        return (await self.buffer()).to_bytes()

    async def memoryview(self) -> memoryview:
        self._raise_if_failed()
        return (await self.buffer()).to_memoryview()

    async def form_data(self) -> Any:
        raise NotModelled("FormData bodies are not modelled by pytest-durable")

    formData = form_data

    async def blob(self) -> Any:
        raise NotModelled("Blob bodies are not modelled by pytest-durable")


class Response(FetchResponse):
    """``workers.Response``."""

    def __init__(
        self,
        body: Any = None,
        status: HTTPStatus | int | None = None,
        status_text: str = "",
        headers: Any = None,
        web_socket: Any = None,
    ) -> None:
        if isinstance(body, JsProxy):
            if isinstance(body._js, JsResponse):
                if status is not None or status_text or headers is not None:
                    raise ValueError(
                        "Expected no options when constructing Response from a js.Response"
                    )
                super().__init__(body._js.url, body)
                return
            if not isinstance(body._js, (JsUint8Array, JsArrayBuffer)):
                raise TypeError(f"Unsupported type in Response: {body._js.js_class}")
        elif body is not None and not isinstance(body, (str, bytes)):
            raise TypeError(f"Unsupported type in Response: {type(body).__name__}")
        options = self._create_options(status, status_text, headers, web_socket)
        init = JsObject({k: to_js_implicit(v) for k, v in options.items()})
        js_response = JsResponse.construct(to_js_implicit(_js_body(body)), init)
        super().__init__(js_response.url, JsProxy(js_response))

    def __repr__(self) -> str:
        parts = [f"status={self.status}"]
        if "content-type" in self.headers:
            parts.append(f"content_type={self.headers['content-type']!r}")
        return f"Response({', '.join(parts)})"

    @staticmethod
    def _create_options(
        status: HTTPStatus | int | None = HTTPStatus.OK,
        status_text: str = "",
        headers: Any = None,
        web_socket: Any = None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if status:
            options["status"] = status.value if isinstance(status, HTTPStatus) else status
        if status_text:
            options["statusText"] = status_text
        if headers:
            options["headers"] = to_js_headers(headers)
        if web_socket:
            options["webSocket"] = web_socket
        return options

    @staticmethod
    def from_json(
        data: Any,
        status: HTTPStatus | int = HTTPStatus.OK,
        status_text: str = "",
        headers: Any = None,
    ) -> Response:
        options = Response._create_options(status, status_text, headers)
        if "headers" not in options:
            options["headers"] = to_js_headers({"content-type": "application/json"})
        elif not options["headers"]._js.has("content-type"):
            options["headers"]._js.set("content-type", "application/json")
        js_response = JsResponse.construct(
            _json.dumps(data), JsObject({k: to_js_implicit(v) for k, v in options.items()})
        )
        return Response(JsProxy(js_response))

    def json(self, *args: Any, **kwargs: Any) -> Any:
        # The SDK lets Response.json(data) stand for Response.from_json(data).
        if isinstance(self, Response):
            return super().json(*args, **kwargs)
        return Response.from_json(self, *args, **kwargs)

    @staticmethod
    def redirect(url: str, status: HTTPStatus | int = HTTPStatus.FOUND) -> Response:
        code = status.value if isinstance(status, HTTPStatus) else status
        if code not in (301, 302, 303, 307, 308):
            raise ValueError(f"Invalid redirect status code: {code}")
        headers = JsHeaders()
        headers.set("location", parse_url(url))
        return Response(JsProxy(JsResponse(None, code, "", headers)))

    def replace_body(self, body: Any) -> Response:
        """A new Response with this one's status and headers (all of them,
        repeated ones included) and ``body``."""
        return Response(body, status=self.status, status_text=self.status_text,
                        headers=JsProxy(self._js.headers.copy()))


class Request:
    """``workers.Request``."""

    def __init__(self, input: Any, **other_options: Any) -> None:
        if isinstance(input, JsProxy) and isinstance(input._js, JsRequest):
            if other_options:
                raise ValueError("Expected no options when constructing Request from a js.Request")
            self._js_request = input
            return
        if isinstance(other_options.get("method"), HTTPMethod):
            other_options["method"] = other_options["method"].value
        if "headers" in other_options:
            other_options["headers"] = to_js_headers(other_options["headers"])
        body = other_options.pop("body", None)
        if body is not None:
            other_options["body"] = _js_body(body)
        source = input._js_request._js if isinstance(input, Request) else to_js_implicit(input)
        init = JsObject({k: to_js_implicit(v) for k, v in other_options.items()})
        self._js_request = JsProxy(JsRequest.construct(source, init))

    @property
    def _js(self) -> JsRequest:
        request: JsRequest = self._js_request._js
        return request

    def __repr__(self) -> str:
        return f"Request(method={self._js.method!r}, url={self._js.url!r})"

    @property
    def js_object(self) -> JsProxy:
        return self._js_request

    @property
    def body(self) -> Any:
        raise NotModelled(
            "Request.body (a ReadableStream) is not modelled by pytest-durable; "
            "read the body with text(), bytes() or json()"
        )

    @property
    def body_used(self) -> bool:
        return self._js.bodyUsed

    @property
    def cf(self) -> Any:
        return None

    @property
    def headers(self) -> HTTPMessageMapping:
        return _headers_message(self._js.headers)

    @property
    def method(self) -> HTTPMethod:
        return HTTPMethod[self._js.method]

    @property
    def redirect(self) -> str:
        return str(self._js.redirect)

    @property
    def url(self) -> str:
        return self._js.url

    def _raise_if_failed(self) -> None:
        if self.body_used:
            raise OSError(_errors.REQUEST_BODY_ALREADY_USED)

    async def buffer(self) -> JsProxy:
        self._raise_if_failed()
        result: JsProxy = await self._js_request.arrayBuffer()
        return result

    async def bytes(self) -> bytes:
        self._raise_if_failed()
        return (await self.buffer()).to_bytes()

    async def text(self) -> str:
        self._raise_if_failed()
        result: str = await self._js_request.text()
        return result

    async def json(self, **kwargs: Any) -> Any:
        self._raise_if_failed()
        return _json.loads(await self.text(), **kwargs)

    def clone(self) -> Request:
        self._raise_if_failed()
        return Request(JsProxy(self._js.clone()))

    async def form_data(self) -> Any:
        raise NotModelled("FormData bodies are not modelled by pytest-durable")

    async def blob(self) -> Any:
        raise NotModelled("Blob bodies are not modelled by pytest-durable")
