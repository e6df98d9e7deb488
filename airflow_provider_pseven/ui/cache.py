"""Short-lived, single-flight caches of the API server: repeated views of a run within a few
seconds, and many tabs refreshing at once, cost the pSeven server one request, not one each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    """``get(key, compute)``: a value computed within ``ttl`` seconds, else computed once while the
    other callers for the same key wait for it (errors are not kept)."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._values: dict[Hashable, tuple[float, T]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        hit = self._values.get(key)
        if hit is not None and self._clock() - hit[0] < self.ttl:
            return True, hit[1]
        return False, None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        found, value = self._fresh(key)
        if found:
            return value
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found, value = self._fresh(key)
            if found:
                return value
            value = compute()
            with self._guard:
                if len(self._values) >= self.size:
                    self._prune()
                self._values[key] = (self._clock(), value)
            return value

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, (at, _) in self._values.items() if now - at >= self.ttl]:
            del self._values[key]
            self._locks.pop(key, None)
        while len(self._values) >= self.size:
            key = next(iter(self._values))
            del self._values[key]
            self._locks.pop(key, None)

    def clear(self) -> None:
        with self._guard:
            self._values.clear()
