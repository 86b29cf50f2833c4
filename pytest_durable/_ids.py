"""Durable Object ids, made the way workerd makes them.

An id is 32 bytes: the first 16 are an HMAC of the name under the
namespace's key (or random, for ``newUniqueId``), the last 16 an HMAC of the
first 16 under the same key. So ``idFromName`` is deterministic within a
namespace and differs across namespaces, and ``idFromString`` can tell an id
of this namespace from any other 64-digit hex string. Each jurisdiction keys
its HMACs apart, so an id made in a jurisdiction differs from the plain one
of the same name and ``idFromString`` recovers the jurisdiction.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Any, Final

from . import _errors
from ._js import UNDEFINED, HostObject

__all__ = ["JURISDICTIONS", "DurableObjectId", "IdFactory"]

JURISDICTIONS: Final = ("eu", "us", "fedramp", "fedramp-high")

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")


class DurableObjectId(HostObject):
    js_class = "DurableObjectId"
    js_members = frozenset({"toString", "equals", "name", "jurisdiction"})

    def __init__(self, raw: bytes, name: str | None, jurisdiction: str | None) -> None:
        self.raw = raw
        self.hex = raw.hex()
        self.name_or_none = name
        self.jurisdiction_or_none = jurisdiction

    # An absent name or jurisdiction is undefined in JavaScript (workerd's
    # jsg::Optional), so None in Python.

    @property
    def name(self) -> Any:
        return UNDEFINED if self.name_or_none is None else self.name_or_none

    @property
    def jurisdiction(self) -> Any:
        return UNDEFINED if self.jurisdiction_or_none is None else self.jurisdiction_or_none

    def toString(self) -> str:
        return self.hex

    def equals(self, other: Any) -> bool:
        return isinstance(other, DurableObjectId) and other.raw == self.raw

    def __repr__(self) -> str:
        return f"DurableObjectId({self.hex})"


class IdFactory:
    """Makes and checks the ids of one namespace."""

    def __init__(self, unique_key: str) -> None:
        self._keys = {
            jurisdiction: _key(unique_key, jurisdiction) for jurisdiction in (None, *JURISDICTIONS)
        }

    def from_name(self, name: str, jurisdiction: str | None = None) -> DurableObjectId:
        key = self._keys[jurisdiction]
        head = hmac.new(key, name.encode(), hashlib.sha256).digest()[:16]
        return DurableObjectId(head + _mac(key, head), name, jurisdiction)

    def unique(self, jurisdiction: str | None = None) -> DurableObjectId:
        head = os.urandom(16)
        return DurableObjectId(head + _mac(self._keys[jurisdiction], head), None, jurisdiction)

    def from_string(self, text: str) -> DurableObjectId:
        """Parse an id of this namespace, in whichever jurisdiction it was made."""
        if not _HEX64.fullmatch(text):
            raise _errors.type_error(_errors.INVALID_ID)
        raw = bytes.fromhex(text)
        for jurisdiction, key in self._keys.items():
            if hmac.compare_digest(raw[16:], _mac(key, raw[:16])):
                return DurableObjectId(raw, None, jurisdiction)
        raise _errors.type_error(_errors.ID_NOT_FOR_NAMESPACE)


def _key(unique_key: str, jurisdiction: str | None) -> bytes:
    text = unique_key if jurisdiction is None else f"{unique_key}\0{jurisdiction}"
    return hashlib.sha256(text.encode()).digest()


def _mac(key: bytes, head: bytes) -> bytes:
    return hmac.new(key, head, hashlib.sha256).digest()[:16]
