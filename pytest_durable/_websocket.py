"""WebSockets: in-memory pairs, the hibernation API and the test's end.

``WebSocket`` is the runtime's socket object (what ``WebSocketPair`` makes);
two of them are peers. The server end is accepted either the standard way
(``ws.accept()``, events go to listeners) or through
``ctx.acceptWebSocket(ws, tags)`` (hibernatable: events go to the object's
``webSocketMessage``/``webSocketClose``/``webSocketError`` handlers). The
``HibernationManager`` of an object keeps its hibernatable sockets, their
tags and attachments, the auto-response and the event timeout; it belongs to
the object's host, so it survives hibernation.

``WebSocketClient`` is the end a test drives: it sends text, bytes, pings
and close frames, receives what the object sends, and records which handler
ran with which arguments.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from unittest import mock

from . import _errors
from ._compat import Compat
from ._errors import JsException, NotModelled
from ._js import (
    NULL,
    UNDEFINED,
    HostObject,
    JsArray,
    JsArrayBuffer,
    JsObject,
    JsUint8Array,
    PyProxy,
    serialized_size,
    structured_clone,
    to_js_string,
)
from ._pyodide import JsProxy, from_js

if TYPE_CHECKING:
    from ._objects import ObjectHost

__all__ = ["HandlerCalls", "HibernationManager", "WebSocket", "WebSocketClient", "WebSocketPair"]

MAX_SOCKETS: Final = 32_768
MAX_TAGS: Final = 10
MAX_TAG_LENGTH: Final = 256
MAX_AUTO_RESPONSE: Final = 2048
MAX_EVENT_TIMEOUT_MS: Final = 604_800_000
MAX_MESSAGE_SIZE: Final = 32 * 1024 * 1024
MAX_CLOSE_REASON: Final = 123
MAX_ATTACHMENT: Final = 16 * 1024
OLD_MAX_ATTACHMENT: Final = 2 * 1024
ATTACHMENT_LIMIT_DATE: Final = "2026-02-23"
"""The runtime raised the attachment limit from 2,048 to 16,384 bytes in the
release of this date; the simulator applies it by compatibility date."""

_DEFAULT_COMPAT: Final = Compat()
"""The flags of a pair made outside any simulation."""

CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3
DISCONNECTED_REASON: Final = _errors.WS_DISCONNECTED


class WebSocket(HostObject):
    """One end of a pair, as the runtime holds it."""

    js_class = "WebSocket"
    js_members = frozenset(
        {"accept", "send", "close", "addEventListener", "removeEventListener", "readyState",
         "serializeAttachment", "deserializeAttachment", "url", "protocol", "extensions",
         "binaryType"}
    )

    def __init__(self) -> None:
        self.peer: WebSocket | None = None
        self.mode: str | None = None  # None, "standard" or "hibernatable"
        self.used_in_response = False
        self.closed_outgoing = False
        self.closed_incoming = False
        self.disconnected = False
        self.manager: HibernationManager | None = None
        self.listeners: dict[str, list[Any]] = {}
        self.attachment: Any = None
        self.auto_response_ms: float | None = None
        self.client: WebSocketClient | None = None
        self.backlog: list[str | bytes | tuple[int, str]] = []
        """What arrived before anyone took this end (messages, or a close
        frame as ``(code, reason)``): delivered when a client attaches."""
        self.url = NULL
        self.protocol = ""
        self.extensions = ""
        self.compat = _DEFAULT_COMPAT

    # -- state

    @property
    def readyState(self) -> float:
        if self.disconnected or (self.closed_outgoing and self.closed_incoming):
            return float(CLOSED)
        if self.closed_outgoing or self.closed_incoming:
            return float(CLOSING)
        # Both ends of a new pair are OPEN: only ``new WebSocket(url)``, which
        # is not modelled, starts out CONNECTING.
        return float(OPEN)

    @property
    def binaryType(self) -> str:
        # The WHATWG default ("blob") from compatibility date 2026-03-17.
        return "blob" if self.compat["websocket_standard_binary_type"] else "arraybuffer"

    @property
    def is_accepted(self) -> bool:
        return self.mode is not None

    # -- the JavaScript API

    def accept(self, options: Any = UNDEFINED) -> Any:
        if self.used_in_response:
            raise _errors.type_error(_errors.WS_ACCEPT_AFTER_RESPONSE)
        if self.mode == "hibernatable":
            raise _errors.type_error(_errors.WS_ACCEPT_AFTER_HIBERNATION)
        if self.mode is None:
            from ._objects import current_instance

            instance = current_instance.get()
            if instance is not None:
                instance.standard_sockets.append(self)
        self.mode = "standard"
        self.deliver_backlog_soon()
        return UNDEFINED

    def addEventListener(self, kind: Any, listener: Any, options: Any = UNDEFINED) -> Any:
        self.listeners.setdefault(to_js_string(kind), []).append(listener)
        return UNDEFINED

    def removeEventListener(self, kind: Any, listener: Any, options: Any = UNDEFINED) -> Any:
        registered = self.listeners.get(to_js_string(kind), [])
        for index, item in enumerate(registered):
            same_proxy = (
                isinstance(item, PyProxy)
                and isinstance(listener, PyProxy)
                and item.obj is listener.obj
            )
            if item is listener or same_proxy:
                del registered[index]
                break
        return UNDEFINED

    def send(self, message: Any) -> Any:
        if self.closed_outgoing:
            raise _errors.type_error(_errors.WS_SEND_AFTER_CLOSE)
        if self.disconnected:
            return UNDEFINED  # the peer is gone: silently ignored, as the runtime does
        if not self.is_accepted:
            raise _errors.type_error(_errors.WS_NOT_ACCEPTED)
        data = _message_data(message)
        if self.peer is not None:
            self.peer.receive_from_peer(data)
        return UNDEFINED

    def close(self, code: Any = UNDEFINED, reason: Any = UNDEFINED) -> Any:
        close_code = None if code is UNDEFINED or code is NULL else _unsigned_short(code)
        close_reason = None if reason is UNDEFINED or reason is NULL else to_js_string(reason)
        if close_code is not None and not (
            1000 <= close_code < 5000 and close_code not in (1004, 1005, 1006, 1015)
        ):
            raise JsException(
                "InvalidAccessError", _errors.WS_INVALID_CLOSE_CODE.format(code=close_code)
            )
        if (
            close_reason is not None
            and self.compat["websocket_close_reason_byte_limit"]
            and len(close_reason.encode()) > MAX_CLOSE_REASON
        ):
            raise JsException(
                "SyntaxError", _errors.WS_CLOSE_REASON_TOO_LONG.format(limit=MAX_CLOSE_REASON)
            )
        if close_reason is not None and close_code is None:
            raise JsException("InvalidAccessError", _errors.WS_REASON_WITHOUT_CODE)
        if self.closed_outgoing or self.disconnected:
            return UNDEFINED
        if not self.is_accepted and not self.used_in_response:
            raise _errors.type_error(_errors.WS_NOT_ACCEPTED)
        self.closed_outgoing = True
        if self.peer is not None:
            self.peer.receive_close_from_peer(close_code, close_reason or "")
        return UNDEFINED

    def serializeAttachment(self, value: Any) -> Any:
        clone = structured_clone(value)
        size = serialized_size(clone)
        limit = MAX_ATTACHMENT if self.compat.date >= ATTACHMENT_LIMIT_DATE else OLD_MAX_ATTACHMENT
        if size > limit:
            raise _errors.error(_errors.WS_ATTACHMENT_TOO_LARGE.format(limit=limit, size=size))
        self.attachment = clone
        return UNDEFINED

    def deserializeAttachment(self) -> Any:
        return NULL if self.attachment is None else structured_clone(self.attachment)

    # -- delivery from the peer

    def receive_from_peer(self, data: str | bytes) -> None:
        if self.client is not None:
            self.client.deliver_message(data)
        elif self.manager is not None and self.mode == "hibernatable":
            self.manager.on_message(self, data)
        elif self.mode == "standard":
            if not isinstance(data, str) and self.binaryType == "blob":
                raise NotModelled(
                    "a binary message to a WebSocket accepted with accept() arrives as a Blob "
                    "(binaryType 'blob', compatibility date 2026-03-17 and later), which "
                    "pytest-durable does not model; use ctx.acceptWebSocket() (handlers always "
                    "get an ArrayBuffer) or the no_websocket_standard_binary_type flag"
                )
            _dispatch_listeners(self, "message", {"data": _js_message(data)})
        else:
            self.backlog.append(data)

    def receive_close_from_peer(self, code: int | None, reason: str) -> None:
        self.closed_incoming = True
        close_code = 1005 if code is None else code
        if self.client is not None:
            self.client.deliver_close(close_code, reason)
        elif self.mode is None:
            self.backlog.append((close_code, reason))
        else:
            self._closed_by_peer(close_code, reason)

    def deliver_backlog_soon(self) -> None:
        """Deliver what arrived before this end was accepted, once the code
        that accepted it has had the turn to add its listeners."""
        if not self.backlog:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # accepted outside any event loop: nothing can run between
            self._deliver_backlog()
            return
        loop.call_soon(self._deliver_backlog)

    def _deliver_backlog(self) -> None:
        backlog, self.backlog = self.backlog, []
        for item in backlog:
            if isinstance(item, tuple):
                self._closed_by_peer(*item)
            else:
                self.receive_from_peer(item)

    def _closed_by_peer(self, code: int, reason: str) -> None:
        # The runtime's own reply (web_socket_auto_reply_to_close) is for
        # sockets accepted with accept(): a hibernatable socket's handler sees
        # CLOSING and must answer itself, on every date (oracle: a probe on
        # workerd 2026-04-26, compatibility dates 2026-01-01 and 2026-04-26).
        if self.compat["web_socket_auto_reply_to_close"] and self.mode == "standard":
            self._reply_to_close(code, reason)
        if self.mode == "hibernatable" and self.manager is not None:
            self.manager.on_close(self, code, reason, True)
        elif self.mode == "standard":
            _dispatch_listeners(
                self, "close", {"code": float(code), "reason": reason, "wasClean": True}
            )

    def _reply_to_close(self, code: int | None, reason: str) -> None:
        """The runtime's own reply to a close frame: the same code and reason,
        sent before the close event runs, so the listener sees CLOSED."""
        if self.closed_outgoing or self.disconnected:
            return
        self.closed_outgoing = True
        if self.peer is not None:
            self.peer.receive_close_from_peer(code, reason)

    def drop(self) -> None:
        """The connection is gone without a close frame."""
        self.disconnected = True
        if self.client is not None:
            self.client.deliver_close(1006, DISCONNECTED_REASON)
        elif self.mode == "hibernatable" and self.manager is not None:
            self.manager.on_close(self, 1006, DISCONNECTED_REASON, False)
        elif self.mode == "standard":
            _dispatch_listeners(
                self, "close", {"code": 1006.0, "reason": DISCONNECTED_REASON, "wasClean": False}
            )


class WebSocketPair(HostObject):
    """``new WebSocketPair()``: two connected ends, ``[client, server]``."""

    js_class = "WebSocketPair"

    def __init__(self) -> None:
        from ._simulation import active_simulation

        self.client, self.server = WebSocket(), WebSocket()
        self.client.peer, self.server.peer = self.server, self.client
        simulation = active_simulation()
        if simulation is not None:
            self.client.compat = self.server.compat = simulation.compat

    def js_iter(self) -> list[Any]:
        return [self.client, self.server]

    def js_own_props(self) -> dict[str, Any]:
        return {"0": self.client, "1": self.server}

    def js_get(self, name: str) -> Any:
        if name in ("0", "1"):
            return self.js_own_props()[name]
        raise AttributeError(name)


class WebSocketRequestResponsePair(HostObject):
    js_class = "WebSocketRequestResponsePair"
    js_members = frozenset({"request", "response"})

    def __init__(self, request: Any, response: Any) -> None:
        self.request = to_js_string(request)
        self.response = to_js_string(response)


# -- the hibernation manager ---------------------------------------------------------


class HibernationManager:
    """An object's hibernatable sockets; kept across hibernation."""

    def __init__(self, host: ObjectHost) -> None:
        self._host = host
        self.sockets: list[WebSocket] = []
        self.tags: dict[int, list[str]] = {}
        self.auto_response: tuple[str, str] | None = None
        self.event_timeout_ms: float | None = None
        self.calls = HandlerCalls()
        self._tasks: list[asyncio.Task[Any]] = []

    # -- ctx members

    def accept(self, ws: Any, tags: Any) -> None:
        if not isinstance(ws, WebSocket):
            raise _errors.not_of_type("acceptWebSocket", "DurableObjectState", 1, "WebSocket")
        if tags is not UNDEFINED and not isinstance(tags, JsArray):
            raise _errors.not_of_type("acceptWebSocket", "DurableObjectState", 2, "Array")
        if ws.is_accepted:
            raise _errors.error(_errors.WS_ALREADY_ACCEPTED)
        if ws.peer is None or ws.peer.used_in_response or ws.peer.is_accepted:
            raise _errors.error(_errors.WS_PAIR_ALREADY_USED)
        distinct: list[str] = []
        for tag in tags.items if isinstance(tags, JsArray) else []:
            text = to_js_string(tag)
            if len(distinct) >= MAX_TAGS:
                raise _errors.error(_errors.WS_TOO_MANY_TAGS.format(limit=MAX_TAGS))
            if len(text.encode()) > MAX_TAG_LENGTH:
                raise _errors.error(_errors.WS_TAG_TOO_LONG.format(tag=text, limit=MAX_TAG_LENGTH))
            if text not in distinct:
                distinct.append(text)
        if len(self.sockets) >= MAX_SOCKETS:
            raise _errors.error(_errors.WS_TOO_MANY_SOCKETS.format(limit=MAX_SOCKETS))
        ws.mode = "hibernatable"
        ws.manager = self
        self.sockets.append(ws)
        self.tags[id(ws)] = distinct
        ws.deliver_backlog_soon()

    def get_websockets(self, tag: Any) -> JsArray:
        if tag is UNDEFINED or tag is NULL:
            return JsArray(reversed(self.sockets))
        wanted = to_js_string(tag)
        return JsArray(ws for ws in self.sockets if wanted in self.tags[id(ws)])

    def get_tags(self, ws: Any) -> JsArray:
        if not isinstance(ws, WebSocket) or not ws.is_accepted:
            raise _errors.error(_errors.WS_TAGS_BEFORE_ACCEPT)
        if ws.mode != "hibernatable":
            raise _errors.error(_errors.WS_TAGS_NOT_HIBERNATABLE)
        return JsArray(self.tags.get(id(ws), []))

    def set_auto_response(self, pair: Any) -> None:
        if pair is UNDEFINED or pair is NULL:
            self.auto_response = None
            return
        if not isinstance(pair, WebSocketRequestResponsePair):
            raise _errors.not_of_type(
                "setWebSocketAutoResponse", "DurableObjectState", 1, "WebSocketRequestResponsePair"
            )
        for kind, text in (("Request", pair.request), ("Response", pair.response)):
            size = len(text.encode())
            if size > MAX_AUTO_RESPONSE:
                raise _errors.range_error(
                    _errors.WS_AUTO_RESPONSE_TOO_LARGE.format(
                        kind=kind, limit=MAX_AUTO_RESPONSE, noun=kind.lower(), size=size
                    )
                )
        self.auto_response = (pair.request, pair.response)

    def get_auto_response(self) -> Any:
        if self.auto_response is None:
            return NULL
        return WebSocketRequestResponsePair(*self.auto_response)

    def set_event_timeout(self, ms: Any) -> None:
        if ms is UNDEFINED or ms is NULL or float(ms) == 0:
            self.event_timeout_ms = None
            return
        if float(ms) > MAX_EVENT_TIMEOUT_MS:
            limit = MAX_EVENT_TIMEOUT_MS
            raise _errors.error(_errors.WS_EVENT_TIMEOUT_TOO_LONG.format(limit=limit))
        self.event_timeout_ms = float(ms)

    # -- events

    def on_message(self, ws: WebSocket, data: str | bytes) -> None:
        auto_response = self.auto_response
        if auto_response is not None and isinstance(data, str) and data == auto_response[0]:
            ws.auto_response_ms = self._host.namespace.simulation.clock.now_ms()
            ws.send(auto_response[1])
            return
        self._event(ws, "webSocketMessage", (_js_message(data),))

    def on_close(self, ws: WebSocket, code: int, reason: str, was_clean: bool) -> None:
        self._event(ws, "webSocketClose", (float(code), reason, was_clean), final=True)

    def on_error(self, ws: WebSocket, error: JsException) -> None:
        from ._js import JsErrorValue

        self._event(ws, "webSocketError", (JsErrorValue(error.name, error.message),), final=True)

    def _event(
        self, ws: WebSocket, handler: str, args: tuple[Any, ...], final: bool = False
    ) -> None:
        host = self._host
        name = host.namespace.handler_name(handler)
        proxy = JsProxy(ws)
        python_args = (proxy, *(from_js(a) for a in args))
        record = getattr(self.calls, handler)
        raised: list[Exception] = []

        async def deliver() -> None:
            await host.deliver(
                [None], lambda obj: _call_handler(obj, name, python_args, raised, record)
            )

        async def run() -> None:
            try:
                if self.event_timeout_ms is None:
                    await deliver()
                else:
                    await self._within_timeout(deliver(), self.event_timeout_ms)
            except Exception as exc:  # the handler failed: recorded, socket and object stay
                # What the handler raised, rather than the PythonError around it.
                self.calls.errors.append(raised[0] if raised else exc)
            finally:
                if final and ws in self.sockets:
                    self.sockets.remove(ws)
                    self.tags.pop(id(ws), None)
                if final and not ws.closed_outgoing and not ws.disconnected:
                    # The handler did not answer the close frame: the runtime
                    # drops the connection, and the client sees 1006 (oracle).
                    ws.disconnected = True
                    if ws.peer is not None and ws.peer.client is not None:
                        ws.peer.client.deliver_close(1006, "")

        task = asyncio.ensure_future(run())
        self._tasks.append(task)
        if ws.peer is not None and ws.peer.client is not None:
            ws.peer.client.track(task)

    async def _within_timeout(self, event: Any, timeout_ms: float) -> None:
        """An event that runs past the timeout shuts the object down."""
        try:
            await asyncio.wait_for(event, timeout_ms / 1000)
        except TimeoutError:
            error = _errors.error(_errors.WS_EVENT_TIMED_OUT)
            instance = self._host.instance
            if instance is not None:
                instance.break_with(error)
            raise error from None

    def pending(self) -> list[asyncio.Task[Any]]:
        self._tasks = [t for t in self._tasks if not t.done()]
        return self._tasks


def _call_handler(
    obj: Any,
    name: str,
    args: tuple[Any, ...],
    raised: list[Exception],
    record: Callable[..., Any],
) -> Any:
    """Call the handler, recording the call (only handlers that exist run)
    and keeping in ``raised`` the exception it raises."""
    from ._handlers import relaxed_call

    method = getattr(obj, name, None)
    if not callable(method):
        return None  # a missing handler drops the event, as the runtime does
    record(*args)
    try:
        result = relaxed_call(method, *args)
    except Exception as exc:
        raised.append(exc)
        raise
    if not inspect.isawaitable(result):
        return result
    task = asyncio.ensure_future(result)
    task.add_done_callback(lambda done: _keep_error(done, raised))
    return task


def _keep_error(done: asyncio.Future[Any], raised: list[Exception]) -> None:
    error = None if done.cancelled() else done.exception()
    if isinstance(error, Exception):
        raised.append(error)


def _dispatch_listeners(ws: WebSocket, kind: str, props: dict[str, Any]) -> None:
    event = JsObject({"type": kind, **props})
    for listener in list(ws.listeners.get(kind, [])):
        if isinstance(listener, PyProxy) and callable(listener.obj):
            result = listener.obj(JsProxy(event))
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                if ws.peer is not None and ws.peer.client is not None:
                    ws.peer.client.track(task)
                from ._simulation import active_simulation

                simulation = active_simulation()
                if simulation is not None:  # cancelled with the test's other pending work
                    simulation.track(task)


def _unsigned_short(value: Any) -> int:
    """WebIDL's ``unsigned short`` conversion (NaN and infinities become 0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if math.isnan(number) or math.isinf(number):
        return 0
    return int(number) % 65536


def _message_data(message: Any) -> str | bytes:
    if isinstance(message, str):
        return message
    if isinstance(message, (JsUint8Array, JsArrayBuffer)):
        return bytes(message.data)
    if isinstance(message, PyProxy) and isinstance(message.obj, (bytes, bytearray, memoryview)):
        raise NotModelled(
            "ws.send() of Python bytes without to_js() is not modelled: what the runtime does "
            "with it is unconfirmed; send to_js(data) (from pyodide.ffi import to_js)"
        )
    return to_js_string(message)


def _js_message(data: str | bytes) -> Any:
    return data if isinstance(data, str) else JsArrayBuffer(data)


# -- the test's end ----------------------------------------------------------------


class HandlerCalls:
    """Which WebSocket handlers of an object ran, as ``unittest.mock`` mocks.

    ``calls.webSocketMessage.assert_called_once_with(ANY, "hello")``;
    ``calls.webSocketClose.assert_not_called()``. ``errors`` holds the
    exceptions handlers raised (the socket and the object stay up).
    """

    def __init__(self) -> None:
        self.webSocketMessage = mock.Mock(name="webSocketMessage")
        self.webSocketClose = mock.Mock(name="webSocketClose")
        self.webSocketError = mock.Mock(name="webSocketError")
        self.errors: list[BaseException] = []

    def assert_nothing_called(self) -> None:
        ran = [
            f"{name} ({mock_.call_count} calls)"
            for name, mock_ in (
                ("webSocketMessage", self.webSocketMessage),
                ("webSocketClose", self.webSocketClose),
                ("webSocketError", self.webSocketError),
            )
            if mock_.called
        ]
        if ran:
            raise AssertionError(f"expected no WebSocket handler to run; ran: {', '.join(ran)}")


class ConnectionClosed(Exception):
    """The object closed the connection (or it was dropped)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"the WebSocket is closed: code {code}, reason {reason!r}")
        self.code = code
        self.reason = reason


class WebSocketClient:
    """The client end of a WebSocket, driven by a test."""

    def __init__(self, ws: WebSocket, host: ObjectHost | None) -> None:
        self._ws = ws
        ws.client = self
        ws.used_in_response = True
        self._host = host
        self._inbox: deque[str | bytes] = deque()
        self._arrived: asyncio.Event | None = None
        self._tracked: list[asyncio.Task[Any]] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.pongs = 0
        backlog, ws.backlog = ws.backlog, []
        for item in backlog:
            if isinstance(item, tuple):
                self.deliver_close(*item)
            else:
                self.deliver_message(item)

    @property
    def server(self) -> JsProxy:
        """The object's end, as its handlers receive it."""
        assert self._ws.peer is not None
        return JsProxy(self._ws.peer)

    @property
    def handlers(self) -> HandlerCalls:
        """The handler calls of the object that accepted the other end."""
        peer = self._ws.peer
        if peer is None or peer.manager is None:
            raise RuntimeError("the other end was not accepted with ctx.acceptWebSocket()")
        return peer.manager.calls

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    @property
    def messages(self) -> list[str | bytes]:
        """Messages received and not yet taken by ``receive()``."""
        return list(self._inbox)

    # -- called by the simulation

    def deliver_message(self, data: str | bytes) -> None:
        self._inbox.append(data)
        if self._arrived is not None:
            self._arrived.set()

    def deliver_close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        if code != 1006 and not self._ws.closed_outgoing and not self._ws.disconnected:
            # a client answers a close frame with its own, as browsers do
            self._ws.closed_outgoing = True
            if self._ws.peer is not None:
                self._ws.peer.receive_close_from_peer(None if code == 1005 else code, reason)
        if self._arrived is not None:
            self._arrived.set()

    def track(self, task: asyncio.Task[Any]) -> None:
        self._tracked.append(task)

    # -- the test's API

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message and wait for
        the object's handler to finish with it."""
        if not isinstance(data, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"send() takes str or bytes, not {type(data).__name__}")
        size = len(data.encode()) if isinstance(data, str) else len(bytes(data))
        if size > MAX_MESSAGE_SIZE:
            raise ValueError(
                f"a message of {size} bytes is over the runtime's limit of {MAX_MESSAGE_SIZE} "
                "bytes; the runtime would close the connection (1009)"
            )
        self._require_open("send")
        payload = data if isinstance(data, str) else bytes(data)
        assert self._ws.peer is not None
        self._ws.peer.receive_from_peer(payload)
        await self._settle()

    async def receive(self, timeout: float | None = None) -> str | bytes:
        """The next message from the object; waits (in virtual time under the
        fake clock) up to ``timeout`` seconds."""
        while not self._inbox:
            if self.closed:
                assert self.close_code is not None
                raise ConnectionClosed(self.close_code, self.close_reason or "")
            self._arrived = asyncio.Event()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                raise TimeoutError(f"no WebSocket message arrived within {timeout} s") from None
        return self._inbox.popleft()

    async def ping(self) -> bool:
        """A protocol-level ping: answered by the runtime with a pong, without
        running any handler or waking a hibernated object."""
        self._require_open("ping")
        self.pongs += 1
        return True

    async def close(self, code: int | None = None, reason: str = "") -> None:
        """Send a close frame and wait for the object's close handler."""
        if code is None and reason:
            raise ValueError("a close reason needs a close code")
        self._require_open("close")
        self._ws.closed_outgoing = True
        assert self._ws.peer is not None
        self._ws.peer.receive_close_from_peer(code, reason)
        await self._settle()

    async def drop(self) -> None:
        """Lose the connection without a close frame."""
        self._require_open("drop")
        self._ws.disconnected = True
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, DISCONNECTED_REASON
        assert self._ws.peer is not None
        self._ws.peer.drop()
        await self._settle()

    def _require_open(self, what: str) -> None:
        if self._ws.closed_outgoing or self._ws.disconnected:
            raise RuntimeError(f"cannot {what}: this end of the WebSocket is already closed")

    async def _settle(self) -> None:
        for _ in range(100):
            self._tracked = [t for t in self._tracked if not t.done()]
            if not self._tracked:
                return
            await asyncio.sleep(0)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<WebSocketClient {state}, {len(self._inbox)} unread>"

