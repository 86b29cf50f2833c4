"""The namespace binding, Durable Object ids and stubs (reference section 7)."""

from __future__ import annotations

import re

import pytest
from workers import DurableObject

from pytest_durable import JsException, Simulation

# Recorded from workerd (oracle results/inmem_errors.json, idFromString_*).
INVALID_ID = "TypeError: Invalid Durable Object ID: must be 64 hex digits"
NOT_FOR_NAMESPACE = "TypeError: Durable Object ID is not valid for this namespace."


class Probe(DurableObject):
    constructions = 0

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        Probe.constructions += 1
        self.hits = 0

    def hit(self):
        self.hits += 1
        return self.hits


class Other(DurableObject):
    def hit(self):
        return "other"


@pytest.fixture
def ns(durable_simulation: Simulation):
    Probe.constructions = 0
    durable_simulation.add_namespace("PROBE", Probe)
    return durable_simulation.namespace("PROBE")


@pytest.fixture
def other_ns(durable_simulation: Simulation):
    durable_simulation.add_namespace("OTHER", Other)
    return durable_simulation.namespace("OTHER")


# -- ids -------------------------------------------------------------------------


def test_id_from_name_is_deterministic_within_a_namespace(ns):
    assert ns.idFromName("alice").toString() == ns.idFromName("alice").toString()
    assert ns.idFromName("alice").equals(ns.idFromName("alice"))
    assert not ns.idFromName("alice").equals(ns.idFromName("bob"))


def test_id_from_name_differs_across_namespaces(ns, other_ns):
    assert ns.idFromName("alice").toString() != other_ns.idFromName("alice").toString()
    assert not ns.idFromName("alice").equals(other_ns.idFromName("alice"))


def test_two_bindings_of_one_class_are_one_namespace(durable_simulation: Simulation):
    # A namespace belongs to the class, not to the binding: two bindings that
    # name the same class make the same ids and accept each other's.
    durable_simulation.add_namespace("FIRST", Probe)
    durable_simulation.add_namespace("SECOND", Probe)
    first = durable_simulation.namespace("FIRST")
    second = durable_simulation.namespace("SECOND")

    made = first.idFromName("alice")

    assert second.idFromName("alice").equals(made)
    assert second.idFromString(made.toString()).equals(made)


async def test_two_bindings_of_one_class_reach_the_same_object(durable_simulation: Simulation):
    Probe.constructions = 0
    durable_simulation.add_namespace("FIRST", Probe)
    durable_simulation.add_namespace("SECOND", Probe)

    assert await durable_simulation.namespace("FIRST").getByName("a").hit() == 1
    assert await durable_simulation.namespace("SECOND").getByName("a").hit() == 2
    assert Probe.constructions == 1


def test_to_string_is_64_lowercase_hex(ns):
    named = ns.idFromName("alice")
    unique = ns.newUniqueId()

    assert re.fullmatch("[0-9a-f]{64}", named.toString())
    assert re.fullmatch("[0-9a-f]{64}", unique.toString())
    assert str(named) == named.toString()


def test_new_unique_ids_are_distinct(ns):
    first, second = ns.newUniqueId(), ns.newUniqueId()

    assert first.toString() != second.toString()
    assert not first.equals(second)


def test_name_is_the_name_or_none(ns):
    assert ns.idFromName("alice").name == "alice"
    assert ns.newUniqueId().name is None


def test_id_from_string_round_trips(ns):
    for made in (ns.idFromName("alice"), ns.newUniqueId()):
        parsed = ns.idFromString(made.toString())

        assert parsed.equals(made)
        assert parsed.toString() == made.toString()
        # workerd drops the name of an id parsed from a string (reference 7.1).
        assert parsed.name is None


def test_id_from_string_accepts_uppercase_hex(ns):
    made = ns.idFromName("alice")

    assert ns.idFromString(made.toString().upper()).equals(made)


@pytest.mark.parametrize(
    "text",
    ["0" * 63, "0" * 65, "g" * 64, "", "z" + "0" * 63],
    ids=["63-digits", "65-digits", "non-hex", "empty", "one-non-hex"],
)
def test_id_from_string_rejects_what_is_not_64_hex_digits(ns, text):
    with pytest.raises(JsException) as caught:
        ns.idFromString(text)

    assert str(caught.value) == INVALID_ID
    assert caught.value.name == "TypeError"


def test_id_from_string_rejects_64_zeros(ns):
    with pytest.raises(JsException) as caught:
        ns.idFromString("0" * 64)

    assert str(caught.value) == NOT_FOR_NAMESPACE


def test_id_from_string_rejects_an_id_of_another_namespace(ns, other_ns):
    foreign = other_ns.idFromName("alice").toString()

    with pytest.raises(JsException) as caught:
        ns.idFromString(foreign)

    assert str(caught.value) == NOT_FOR_NAMESPACE


# -- stubs -----------------------------------------------------------------------


def test_get_and_get_by_name_give_stubs_with_id_and_name(ns):
    by_id = ns.get(ns.idFromName("alice"))
    by_name = ns.getByName("alice")

    assert by_id.id.equals(ns.idFromName("alice"))
    assert by_name.id.equals(ns.idFromName("alice"))
    assert by_id.name == "alice"
    assert by_name.name == "alice"


def test_stub_of_a_unique_id_has_no_name(ns):
    made = ns.newUniqueId()
    stub = ns.get(made)

    assert stub.id.equals(made)
    assert stub.name is None


def test_get_refuses_what_is_not_an_id(ns):
    with pytest.raises(JsException) as caught:
        ns.get("alice")

    assert str(caught.value) == (
        "TypeError: Failed to execute 'get' on 'DurableObjectNamespace': parameter 1 is not "
        "of type 'DurableObjectId'."
    )


def test_get_accepts_primary_only_routing_mode(ns):
    stub = ns.get(ns.idFromName("alice"), routingMode="primary-only")

    assert stub.name == "alice"


def test_get_refuses_any_other_routing_mode(ns):
    with pytest.raises(JsException) as caught:
        ns.get(ns.idFromName("alice"), routingMode="nearest")

    # Reference 7.1: "RangeError: unknown routingMode: <v>".
    assert str(caught.value) == "RangeError: unknown routingMode: nearest"


def test_get_by_name_checks_routing_mode_too(ns):
    with pytest.raises(JsException) as caught:
        ns.getByName("alice", routingMode="any")

    assert str(caught.value) == "RangeError: unknown routingMode: any"


async def test_get_accepts_a_location_hint(ns):
    stub = ns.get(ns.idFromName("alice"), locationHint="weur")

    assert await stub.hit() == 1


async def test_creating_a_stub_does_not_construct_the_object(ns):
    stub = ns.getByName("alice")
    ns.get(ns.newUniqueId())

    assert Probe.constructions == 0

    assert await stub.hit() == 1
    assert Probe.constructions == 1


async def test_one_instance_per_id(ns):
    first = ns.getByName("alice")
    second = ns.get(ns.idFromName("alice"))
    parsed = ns.get(ns.idFromString(ns.idFromName("alice").toString()))

    assert await first.hit() == 1
    assert await second.hit() == 2
    assert await parsed.hit() == 3
    assert await ns.getByName("bob").hit() == 1
    assert Probe.constructions == 2


async def test_namespaces_keep_separate_objects(ns, other_ns):
    assert await ns.getByName("alice").hit() == 1
    assert await other_ns.getByName("alice").hit() == "other"
    assert await ns.getByName("alice").hit() == 2


# -- jurisdictions ------------------------------------------------------------------


def test_jurisdiction_ids_differ_from_the_plain_namespace(ns):
    eu = ns.jurisdiction("eu")

    assert eu.idFromName("alice").toString() != ns.idFromName("alice").toString()
    assert eu.idFromName("alice").equals(eu.idFromName("alice"))
    assert eu.idFromName("alice").jurisdiction == "eu"
    assert ns.idFromName("alice").jurisdiction is None


def test_jurisdiction_id_from_string_round_trips(ns):
    eu = ns.jurisdiction("eu")
    made = eu.idFromName("alice")

    parsed = eu.idFromString(made.toString())

    assert parsed.equals(made)
    assert parsed.jurisdiction == "eu"


def test_jurisdiction_new_unique_id(ns):
    made = ns.jurisdiction("eu").newUniqueId()

    assert made.jurisdiction == "eu"
    assert made.name is None


async def test_new_unique_id_with_a_jurisdiction_option(ns):
    made = ns.newUniqueId(jurisdiction="eu")

    assert made.jurisdiction == "eu"
    assert ns.idFromString(made.toString()).jurisdiction == "eu"
    assert await ns.jurisdiction("eu").get(made).hit() == 1


async def test_jurisdiction_get_refuses_an_id_of_another_jurisdiction(ns):
    eu = ns.jurisdiction("eu")
    us = ns.jurisdiction("us")

    for foreign in (
        ns.idFromName("alice"),
        us.idFromName("alice"),
        ns.idFromString(ns.idFromName("alice").toString()),
    ):
        with pytest.raises(JsException) as caught:
            eu.get(foreign)

        assert str(caught.value) == (
            "TypeError: get called on jurisdictional subnamespace with an ID from a "
            "different jurisdiction"
        )


async def test_jurisdiction_get_accepts_its_own_ids(ns):
    eu = ns.jurisdiction("eu")

    stub = eu.getByName("alice")

    assert stub.name == "alice"
    assert stub.id.jurisdiction == "eu"
    assert await stub.hit() == 1


async def test_the_plain_namespace_reaches_jurisdictional_objects(ns):
    eu_id = ns.jurisdiction("eu").idFromName("alice")

    assert await ns.jurisdiction("eu").get(eu_id).hit() == 1
    assert await ns.get(eu_id).hit() == 2
    assert Probe.constructions == 1


def test_jurisdiction_refuses_an_unknown_one(ns):
    with pytest.raises(JsException) as caught:
        ns.jurisdiction("mars")

    # The simulator's wording: the runtime's text for this case is not recorded.
    assert str(caught.value) == (
        "TypeError: Invalid jurisdiction 'mars': expected one of 'eu', 'us', 'fedramp', "
        "'fedramp-high'."
    )
