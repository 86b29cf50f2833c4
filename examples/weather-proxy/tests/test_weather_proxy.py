import httpx
import pytest
import respx

UPSTREAM = "https://api.weather.example/v1/forecast"


@respx.mock
async def test_through_the_worker_with_httpx(durable_client, durable_clock):
    route = respx.get(UPSTREAM, params={"city": "oslo"}).mock(
        return_value=httpx.Response(200, json={"forecast": "snow"})
    )
    first = await durable_client.get("/forecast/oslo")
    assert first.status_code == 200
    assert first.json() == {"city": "oslo", "forecast": "snow", "cached": False}
    # The secret from .dev.vars reached the upstream request.
    assert route.calls.last.request.headers["authorization"] == "Bearer dev-key-123"

    second = await durable_client.get("/forecast/oslo")
    assert second.json()["cached"] is True
    assert route.call_count == 1

    await durable_clock.advance(601)  # CACHE_SECONDS = 600 in wrangler.toml
    third = await durable_client.get("/forecast/oslo")
    assert third.json()["cached"] is False
    assert route.call_count == 2


@respx.mock
async def test_upstream_failure_becomes_502(durable_client):
    respx.get(UPSTREAM).mock(return_value=httpx.Response(503))
    response = await durable_client.get("/forecast/rome")
    assert response.status_code == 502
    assert response.json() == {"city": "rome", "error": 503}


@respx.mock
async def test_rpc_on_the_entrypoint(durable_worker):
    respx.get(UPSTREAM).mock(return_value=httpx.Response(200, json={"forecast": "sun"}))
    assert await durable_worker.cities_cached(["lima", "lima"]) == ["lima"]


async def test_unmocked_requests_never_leave_the_machine(durable_worker, durable_simulation):
    # The error crosses two runtime boundaries (Durable Object -> Worker ->
    # the test's fetch), so it arrives as fetch's OSError, with the cause in it.
    with pytest.raises(OSError, match="OutboundFetchBlocked: pytest-durable: outbound fetch to"):
        await durable_worker.fetch("/forecast/oslo")
    # Even if the Worker had swallowed the error, the test would fail at
    # teardown: the plugin records every blocked URL.
    assert durable_simulation.blocked_fetches == [f"{UPSTREAM}?city=oslo"]
    durable_simulation.blocked_fetches.clear()


async def test_untouched_bindings_do_not_get_in_the_way(durable_env):
    with pytest.raises(NotImplementedError, match=r"env\.SESSIONS is a KV namespace binding"):
        durable_env.SESSIONS  # noqa: B018


class TestWithATransportOfItsOwn:
    @pytest.fixture
    def durable_fetch_transport(self):
        return httpx.MockTransport(lambda request: httpx.Response(200, json={"forecast": "fog"}))

    async def test_mock_transport(self, durable_worker):
        response = await durable_worker.fetch("/forecast/london")
        assert await response.json() == {"city": "london", "forecast": "fog", "cached": False}
