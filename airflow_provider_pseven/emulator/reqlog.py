"""The request log: what the emulator was asked and what it answered, for tests to assert on."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypedDict, Unpack

from .urls import ID, owner_pattern

# The owner and run a request is about, wherever they stand in its path.
_IDS = re.compile(
    "/" + owner_pattern("(?P<coll>workflows|apps)", versioned=True) + rf"(?:runs/(?P<run>{ID})/)?"
)


@dataclass
class Entry:
    time: float
    method: str
    path: str
    query: str
    status: int | None = None
    fault: str | None = None
    workflow_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None
    duration: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class EntryFilter(TypedDict, total=False):
    """What :meth:`RequestLog.entries` can select by; a filter left out, or given as None, selects all."""

    method: str
    path_suffix: str
    path_contains: str
    status: int
    fault: str
    run_id: str


_FILTERS: dict[str, Callable[[Entry, Any], bool]] = {
    "method": lambda e, method: e.method == method.upper(),
    "path_suffix": lambda e, suffix: e.path.endswith(suffix),
    "path_contains": lambda e, part: part in e.path,
    "status": lambda e, status: e.status == status,
    "fault": lambda e, fault: e.fault == fault,
    "run_id": lambda e, run_id: e.run_id == run_id,
}


class RequestLog:
    """A bounded, thread-safe list of entries with small query helpers."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def start(self, method: str, path: str, query: str) -> Entry:
        entry = Entry(time.time(), method, path, query)
        m = _IDS.search(path)
        if m:
            if m["coll"] == "workflows":
                entry.workflow_id = m["owner"]
            else:
                entry.app_id = m["owner"]
            entry.run_id = m["run"]
        with self._lock:
            self._entries.append(entry)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self, **match: Unpack[EntryFilter]) -> list[Entry]:
        """Entries matching every given filter (see :class:`EntryFilter`), oldest first."""
        unknown = set(match) - set(_FILTERS)
        if unknown:
            raise TypeError(f"unknown request log filter {sorted(unknown)}; known: {sorted(_FILTERS)}")
        tests = [(_FILTERS[name], value) for name, value in match.items() if value is not None]
        with self._lock:
            items = list(self._entries)
        return [e for e in items if all(test(e, value) for test, value in tests)]

    def count(self, **match: Unpack[EntryFilter]) -> int:
        return len(self.entries(**match))

    def last(self) -> Entry | None:
        with self._lock:
            return self._entries[-1] if self._entries else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.entries()]
