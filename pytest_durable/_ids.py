"""Durable Object ids, made the way workerd makes them.

An id is 32 bytes: the first 16 are an HMAC of the name under the
namespace's key (or random, for ``newUniqueId``), the last 16 an HMAC of the
first 16 under the same key. So ``idFromName`` is deterministic within a
namespace and differs across namespaces, and ``idFromString`` can tell an id
of this namespace from any other 64-digit hex string.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Any, Final

from . import _errors
from ._js import NULL, HostObject

__all__ = ["DurableObjectId", "IdFactory"]

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")


class DurableObjectId(HostObject):
    js_class = "DurableObjectId"
    js_members = frozenset({"toString", "equals", "name", "jurisdiction"})

    def __init__(self, raw: bytes, name: str | None, jurisdiction: str | None) -> None:
        self.raw = raw
        self.hex = raw.hex()
        self.name: Any = NULL if name is None else name
        self.jurisdiction: Any = NULL if jurisdiction is None else jurisdiction

    def toString(self) -> str:
        return self.hex

    def equals(self, other: Any) -> bool:
        return isinstance(other, DurableObjectId) and other.raw == self.raw

    @property
    def name_or_none(self) -> str | None:
        return None if self.name is NULL else str(self.name)

    def __repr__(self) -> str:
        return f"DurableObjectId({self.hex})"


class IdFactory:
    """Makes and checks the ids of one namespace."""

    def __init__(self, unique_key: str) -> None:
        self._key = hashlib.sha256(unique_key.encode()).digest()

    def from_name(self, name: str, jurisdiction: str | None = None) -> DurableObjectId:
        head = hmac.new(self._key, name.encode(), hashlib.sha256).digest()[:16]
        return DurableObjectId(head + self._mac(head), name, jurisdiction)

    def unique(self, jurisdiction: str | None = None) -> DurableObjectId:
        head = os.urandom(16)
        return DurableObjectId(head + self._mac(head), None, jurisdiction)

    def from_string(self, text: str, jurisdiction: str | None = None) -> DurableObjectId:
        if not _HEX64.fullmatch(text):
            raise _errors.type_error(_errors.INVALID_ID)
        raw = bytes.fromhex(text)
        if not hmac.compare_digest(raw[16:], self._mac(raw[:16])):
            raise _errors.type_error(_errors.ID_NOT_FOR_NAMESPACE)
        return DurableObjectId(raw, None, jurisdiction)

    def _mac(self, head: bytes) -> bytes:
        return hmac.new(self._key, head, hashlib.sha256).digest()[:16]
