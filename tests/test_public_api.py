"""The names the package exports: changing this set is a decision."""

import pytest_durable


def test_the_public_names() -> None:
    assert sorted(pytest_durable.__all__) == [
        "AlarmHistory",
        "AlarmRun",
        "Clock",
        "Compat",
        "ConnectionClosed",
        "DeadlockError",
        "DurableEventLoop",
        "DurableObjectAbort",
        "HandlerCalls",
        "JsException",
        "NotModelled",
        "OutboundFetchBlocked",
        "Simulation",
        "TimeControl",
        "WebSocketClient",
        "install",
    ]
    for name in pytest_durable.__all__:
        assert getattr(pytest_durable, name) is not None


def test_not_modelled_is_a_not_implemented_error() -> None:
    assert issubclass(pytest_durable.NotModelled, NotImplementedError)


def test_pyodide_proxy_types_follow_the_javascript_value() -> None:
    pytest_durable.install()
    from pyodide.ffi import JsArray, JsBuffer, JsCallable, JsMap, JsProxy, create_proxy, to_js

    array, buffer = to_js([1, 2]), to_js(b"ab")
    assert isinstance(array, JsArray)
    assert isinstance(array, JsProxy)
    assert not isinstance(to_js({"a": 1}), JsArray)
    assert isinstance(to_js({"a": 1}), JsMap)  # to_js makes a Map of a dict by default
    assert isinstance(buffer, JsBuffer)
    assert not isinstance(buffer, JsArray)
    assert isinstance(create_proxy(len), JsCallable)
    assert not isinstance([1, 2], JsArray)
