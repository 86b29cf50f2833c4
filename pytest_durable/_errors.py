"""The runtime's errors, in the runtime's own words.

Every message a simulated Durable Object can see lives here, so that a change
of wording is one edit and the tests that pin it point at one place.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DurableObjectAbort", "JsException", "js_error"]


class JsException(Exception):
    """A JavaScript error as Python code sees it (``pyodide.ffi.JsException``).

    ``str(exc)`` is the JavaScript ``toString()``: ``"<name>: <message>"``.
    Properties the runtime sets on its errors (``remote``, ``retryable``,
    ``overloaded``, ``durableObjectReset``) read as attributes, and are absent
    (``AttributeError``) when the runtime did not set them.
    """

    retry_alarm: bool = True
    """Not a JavaScript property: False on the error of ``abort(reason,
    {retryAlarm: false})``, which stops the alarm it interrupts from retrying."""

    def __init__(self, name: str, message: str, **props: Any) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name
        self.message = message
        for key, value in props.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        props = {k: v for k, v in vars(self).items() if k not in ("name", "message")}
        return (_rebuild_js_exception, (self.name, self.message, props))


def _rebuild_js_exception(name: str, message: str, props: dict[str, Any]) -> JsException:
    return JsException(name, message, **props)


class NotModelled(NotImplementedError):
    """Something the simulator does not model.

    It reaches the test as it is, never converted into an error of the
    simulated runtime, so that Worker code cannot catch and hide it.
    """


class DurableObjectAbort(BaseException):
    """Raised by ``ctx.abort()`` inside the object, as the Python SDK does.

    A ``BaseException``, so that ``except Exception`` in user code does not
    swallow it.
    """


def js_error(name: str, message: str, **props: Any) -> JsException:
    return JsException(name, message, **props)


def type_error(message: str, **props: Any) -> JsException:
    return JsException("TypeError", message, **props)


def range_error(message: str, **props: Any) -> JsException:
    return JsException("RangeError", message, **props)


def error(message: str, **props: Any) -> JsException:
    return JsException("Error", message, **props)


def not_of_type(method: str, owner: str, index: int, expected: str) -> JsException:
    """The runtime's (JSG's) error for an argument of the wrong type."""
    return type_error(
        f"Failed to execute '{method}' on '{owner}': parameter {index} is not of type '{expected}'."
    )


# -- namespace and ids -------------------------------------------------------

INVALID_ID = "Invalid Durable Object ID: must be 64 hex digits"
ID_NOT_FOR_NAMESPACE = "Durable Object ID is not valid for this namespace."
JURISDICTION_MISMATCH = (
    "get called on jurisdictional subnamespace with an ID from a different jurisdiction"
)
UNKNOWN_ROUTING_MODE = "unknown routingMode: {mode}"

# -- RPC and handlers --------------------------------------------------------

RESERVED_METHOD = "'{name}' is a reserved method and cannot be called over RPC."
METHOD_DOES_NOT_EXIST = "Method {name} does not exist"
CANNOT_SEND_OVER_RPC = "{type} cannot be sent over RPC."
AWAITABLE_OVER_RPC = "Awaitable {type} cannot be sent over RPC."
DATA_CLONE = "{what} could not be cloned."
RPC_TOO_LARGE = (
    "Serialized RPC arguments or return values are limited to {limit}, "
    "but the size of this value was: {size} bytes."
)

# -- ctx ---------------------------------------------------------------------

ABORT_DEFAULT_REASON = "Application called abort() to reset Durable Object."
SDK_ABORT_DEFAULT = "Durable Object abort requested"
BCW_NESTED_TOO_DEEPLY = "blockConcurrencyWhile() calls are nested too deeply."

# -- KV storage --------------------------------------------------------------

KEY_TOO_LARGE = "Keys cannot be larger than {limit} bytes. A key of size {size} was provided."
VALUE_TOO_LARGE = "Values cannot be larger than {limit} bytes. A value of size {size} was provided."
TOO_MANY_KEYS = "Maximum number of key value pairs is {limit}. {count} pairs were provided."
PUT_UNDEFINED = "put() called with undefined value."
PUT_BAD_SIGNATURE = (
    "put() may only be called with a single key-value pair and optional options as "
    "put(key, value, options) or with multiple key-value pairs and optional options as "
    "put(entries, options)"
)
LIST_START_AND_START_AFTER = "list() cannot be called with both start and startAfter values."
LIST_LIMIT_NOT_POSITIVE = "List limit must be positive."
DELETE_ALL_IN_TRANSACTION = "Cannot call deleteAll() within a transaction"
TXN_ROLLED_BACK = "Cannot {op}() on rolled back transaction"
TXN_ALREADY_COMMITTED = (
    "Cannot call {op}() on transaction that has already committed: "
    "did you move `txn` outside of the closure?"
)
NOT_BACKED_BY_SQL = "Durable Object is not backed by SQL."
# The production texts (workerd's local-development texts differ).
SQL_NOT_AVAILABLE = (
    "This Durable Object is not backed by SQLite storage, so the SQL API is not available. "
    "SQL can be enabled on a new Durable Object class by using the `new_sqlite_classes` "
    "instead of `new_classes` under `[[migrations]]` in your wrangler.toml, but an "
    "already-deployed class cannot be converted to SQLite (except by deleting the existing "
    "data)."
)
SYNC_KV_NOT_AVAILABLE = (
    "The storage.kv (synchronous KV) API is only available for SQLite-backed Durable "
    "Objects, but this object's namespace is not declared to use SQLite. You can use the "
    "older, asyncronous interface via methods of `storage` itself (e.g. `storage.get()`). "
    "SQLite can be enabled on a new Durable Object class by using the `new_sqlite_classes` "
    "instead of `new_classes` under `migrations` in your wrangler.jsonc or wrangler.toml, "
    "but an already-deployed class cannot be converted to SQLite (except by deleting the "
    "existing data)."
)

# -- SQL ---------------------------------------------------------------------

SQL_TRANSACTION_STATEMENT_ERROR = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)
SQL_NO_STATEMENT = "SQL code did not contain a statement."
SQL_WRONG_BINDINGS = "Wrong number of parameter bindings for SQL query."
SQL_ONE_NO_RESULTS = "Expected exactly one result from SQL query, but got no results."
SQL_ONE_MANY_RESULTS = "Expected exactly one result from SQL query, but got multiple results."
SQL_MULTI_STATEMENT_BINDINGS = (
    "When executing multiple SQL statements in a single call, only the last statement can have "
    "parameters."
)
SQL_STATEMENT_TOO_LONG = "statement too long: SQLITE_TOOBIG"

# -- WebSockets --------------------------------------------------------------

WS_ACCEPT_AFTER_RESPONSE = "Can't accept() WebSocket that was already used in a response."
WS_ACCEPT_AFTER_HIBERNATION = "Can't accept() WebSocket after enabling hibernation."
WS_SEND_AFTER_CLOSE = "Can't call WebSocket send() after close()."
WS_NOT_ACCEPTED = (
    "You must call one of accept() or state.acceptWebSocket() on this WebSocket before "
    "sending messages."
)
WS_INVALID_CLOSE_CODE = "Invalid WebSocket close code: {code}."
WS_CLOSE_REASON_TOO_LONG = (
    "WebSocket close reason must not be longer than {limit} bytes when UTF-8 encoded."
)
WS_REASON_WITHOUT_CODE = "If you specify a WebSocket close reason, you must also specify a code."
WS_ATTACHMENT_TOO_LARGE = (
    "A WebSocket 'attachment' cannot be larger than {limit} bytes.'attachment' was {size} bytes."
)
WS_ALREADY_ACCEPTED = (
    "Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`"
)
WS_PAIR_ALREADY_USED = (
    "Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been "
    "accepted or used in a Response."
)
WS_TOO_MANY_TAGS = "a Hibernatable WebSocket cannot have more than {limit} tags"
WS_TAG_TOO_LONG = '"{tag}" is longer than the max tag length ({limit} characters).'
WS_TOO_MANY_SOCKETS = "only {limit} websockets can be accepted on a single Durable Object instance"
WS_TAGS_BEFORE_ACCEPT = (
    "you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket."
)
WS_TAGS_NOT_HIBERNATABLE = "only hibernatable websockets can have tags."
WS_AUTO_RESPONSE_TOO_LARGE = (
    "{kind} cannot be larger than {limit} bytes. A {noun} of size {size} was provided."
)
WS_EVENT_TIMEOUT_TOO_LONG = "Event timeout should not exceed {limit} ms."
WS_EVENT_TIMED_OUT = "Actor exceeded event execution time and was disconnected."
WS_DISCONNECTED = "WebSocket disconnected without sending Close frame."
WS_RETURNED_AFTER_ACCEPT = "Can't return WebSocket in a Response after calling accept()."
WS_RETURNED_AFTER_ACCEPT_WEBSOCKET = (
    "Can't return WebSocket in a Response after calling acceptWebSocket()."
)
WS_RETURNED_TWICE = "Can't return WebSocket that was already used in a response."

# -- fetch -------------------------------------------------------------------

INVALID_URL = "Invalid URL: {url}"
BAD_HEADERS = "Incorrect type for the 'headers' field on 'RequestInitializerDict'"
GET_WITH_BODY = "Request with a GET or HEAD method cannot have a body."
BAD_RESPONSE_STATUS = (
    "Responses may only be constructed with status codes in the range 200 to 599, inclusive."
)
WEBSOCKET_RESPONSE_STATUS = "Responses with a WebSocket must have status code 101."
NULL_BODY_STATUS = "Response with null body status (101, 204, 205, or 304) cannot have a body."
BODY_USED = (
    "Body has already been used. It can only be used once. Use tee() first if you need to "
    "read it twice."
)
BODY_ALREADY_USED = "Response body is already used"
REQUEST_BODY_ALREADY_USED = "Body already used"
FETCH_INVALID_URL = "Fetch API cannot load: {url}"
