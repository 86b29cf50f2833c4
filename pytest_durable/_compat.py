"""Compatibility dates and flags: the one table of what the simulator models.

Each row is a workerd compatibility flag whose behaviour the simulator
reproduces: the flag that turns it on, the flag that turns it off, and the
date from which it is on by default (``src/workerd/io/compatibility-date.capnp``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_COMPATIBILITY_DATE", "FLAGS", "Compat", "CompatFlag"]


@dataclass(frozen=True)
class CompatFlag:
    name: str
    disable: str
    date: str
    summary: str


FLAGS: Final = (
    CompatFlag(
        "python_no_global_handlers", "disable_python_no_global_handlers", "2025-08-14",
        "Python handlers are named fetch/alarm/webSocket*, not on_fetch/on_alarm/...",
    ),
    CompatFlag(
        "delete_all_deletes_alarm", "delete_all_preserves_alarm", "2026-02-24",
        "storage.deleteAll() also deletes the alarm",
    ),
    CompatFlag(
        "websocket_close_reason_byte_limit", "no_websocket_close_reason_byte_limit", "2026-03-03",
        "a WebSocket close reason is limited to 123 UTF-8 bytes",
    ),
    CompatFlag(
        "websocket_standard_binary_type", "no_websocket_standard_binary_type", "2026-03-17",
        "binaryType defaults to 'blob' for WebSockets accepted with accept()",
    ),
    CompatFlag(
        "web_socket_auto_reply_to_close", "web_socket_manual_reply_to_close", "2026-04-07",
        "the runtime answers a Close frame itself (sockets accepted with accept())",
    ),
)

IMPLIED_FLAGS: Final = frozenset({"python_workers"})
"""Flags the simulation is by nature: a Python Worker."""

DEFAULT_COMPATIBILITY_DATE: Final = "2026-04-26"
"""Used when the project names none: the date of the workerd release the
simulator was checked against."""


class Compat:
    """The flags in force for one compatibility date and flag list."""

    def __init__(self, date: str = DEFAULT_COMPATIBILITY_DATE, flags: Iterable[str] = ()) -> None:
        try:
            _dt.date.fromisoformat(date)
        except ValueError:
            raise ValueError(
                f"compatibility_date {date!r} is not a date: write it as YYYY-MM-DD"
            ) from None
        self.date = date
        self.flags = tuple(flags)
        self._on = {f.name for f in FLAGS if f.date <= date}
        self.unmodelled: tuple[str, ...] = ()
        """Flags of the list the simulator does not model: they change nothing
        it models (``python_workers``, say), and the run's header lists them."""
        for flag in self.flags:
            row = next((f for f in FLAGS if flag in (f.name, f.disable)), None)
            if row is None:
                if flag not in IMPLIED_FLAGS:
                    self.unmodelled += (flag,)
                continue
            if flag == row.name:
                self._on.add(row.name)
            else:
                self._on.discard(row.name)

    def __getitem__(self, name: str) -> bool:
        if all(f.name != name for f in FLAGS):
            raise KeyError(f"{name!r} is not a compatibility flag pytest-durable models")
        return name in self._on

    def __repr__(self) -> str:
        return f"Compat({self.date!r}, flags={list(self.flags)!r})"
