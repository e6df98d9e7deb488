"""The request log: what the emulator was asked and what it answered, for tests to assert on."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

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

    def entries(
        self,
        *,
        method: str | None = None,
        path_suffix: str | None = None,
        path_contains: str | None = None,
        status: int | None = None,
        fault: str | None = None,
        run_id: str | None = None,
    ) -> list[Entry]:
        """Entries matching every given filter, oldest first."""
        with self._lock:
            items = list(self._entries)
        return [
            e
            for e in items
            if (method is None or e.method == method.upper())
            and (path_suffix is None or e.path.endswith(path_suffix))
            and (path_contains is None or path_contains in e.path)
            and (status is None or e.status == status)
            and (fault is None or e.fault == fault)
            and (run_id is None or e.run_id == run_id)
        ]

    def count(self, **filters: Any) -> int:
        return len(self.entries(**filters))

    def last(self) -> Entry | None:
        with self._lock:
            return self._entries[-1] if self._entries else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def to_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.entries()]
