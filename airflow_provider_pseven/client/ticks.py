"""Aligned sleeps of one async client that end at the same instant share one timer.

A triggerer following 10,000 runs wakes every wait at the same tick of its interval (the waits are
aligned, see :meth:`ClientCore.pause_seconds`). With ``asyncio.sleep`` each of them costs a timer
on the loop's heap, a copied context and a future per interval, and all of them outlive the
cyclic GC's young collections, so the full collections that follow grow with the number of waits.
Here the first wait for an instant starts one sleep (the driver's, so an injected clock still
moves it) and the others add a future to its list (docs/benchmarks.md, "Trigger capacity").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

#: Wake instants closer than this are one tick (float error of the aligned arithmetic).
RESOLUTION = 3  # decimal places of a second


class SharedTicks:
    """Sleeps until absolute instants of the driver's clock, one timer per distinct instant."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._sleep = sleep
        self._waiters: dict[float, list[asyncio.Future[None]]] = {}
        self._timers: set[asyncio.Task[None]] = set()

    async def sleep(self, seconds: float, until: float) -> None:
        """Sleep ``seconds``, which end at ``until``, together with every other sleep ending then."""
        loop = asyncio.get_running_loop()
        key = round(until, RESOLUTION)
        waiters = self._waiters.get(key)
        if waiters is None:
            waiters = self._waiters[key] = []
            timer = loop.create_task(self._tick(key, seconds))
            self._timers.add(timer)  # keep a reference until it is done
            timer.add_done_callback(self._timers.discard)
        woken: asyncio.Future[None] = loop.create_future()
        waiters.append(woken)
        await woken  # a cancelled wait cancels only its own future

    @property
    def pending(self) -> int:
        """Instants with a timer running (for tests and logs)."""
        return len(self._waiters)

    async def _tick(self, key: float, seconds: float) -> None:
        try:
            await self._sleep(seconds)
        except BaseException:
            for woken in self._waiters.pop(key, ()):
                woken.cancel()
            raise
        # All at once, so that the polls they make next fall into one coalescing window.
        for woken in self._waiters.pop(key, ()):
            if not woken.done():
                woken.set_result(None)
