"""The async client's connections: up to N httpx clients of one connection each, not one pool of N.

httpcore's pool, placing a request, walks every pooled connection (checking each idle one's socket)
and hands the request the first idle connection; requests that arrive together are all handed the
same one before it is taken, and all but one start over. A burst of requests through a pool of 10
cost 4.5 pool walks and 2.5 restarts per request, about twice the CPU per request of 10 clients of one
connection each, which the client hands out itself (docs/benchmarks.md, "Sweeps at scale"). Same
capacity (N requests in flight), same transports (httpx's own, its proxy support included).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import httpx


class Lanes:
    """httpx clients of one connection each, built as concurrency needs them (at most the caller's
    limit on requests in flight, which it enforces), the most recently used handed out first so
    that a quiet client keeps few connections open (idle ones expire with httpx's keep-alive).

    A client given from outside (a test's mock transport) carries every request instead.
    """

    def __init__(self, build: Callable[[], httpx.AsyncClient] | None, given: httpx.AsyncClient | None = None):
        if (build is None) == (given is None):
            raise ValueError("give either a way to build lanes or the one client to share")
        self._build = build
        first = given if given is not None else build()  # type: ignore[misc]
        self.first = first
        self._all = [first]
        self._free = [first]

    @contextlib.asynccontextmanager
    async def lane(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client to send one request through, whole (until its answer is read or closed)."""
        if self._build is None:
            yield self.first
            return
        if self._free:
            client = self._free.pop()
        else:
            client = self._build()
            self._all.append(client)
        try:
            yield client
        finally:
            self._free.append(client)

    @property
    def built(self) -> int:
        return len(self._all)

    async def aclose(self) -> None:
        for client in self._all:
            await client.aclose()


__all__ = ["Lanes"]
