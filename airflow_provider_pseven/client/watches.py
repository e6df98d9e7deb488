"""Watches of run states, answered from runs lists: a wait sleeps until its run changes.

A triggerer following 10,000 runs used to wake every wait at every tick of its interval: each woke,
polled (answered from a shared runs list), parsed its run, found it still RUNNING and slept again.
That was about 70 us of CPU per wait and tick, and the objects each poll kept alive across the
coalescing window made the cyclic GC's full collections the largest cost (docs/benchmarks.md,
"Trigger capacity"). Here a :class:`~airflow_provider_pseven.client.calls.Watch` is registered
for its tick; at the tick one request per list answers every watch due then, and only the watches
whose run changed (or whose deadline came) wake. The others move to their next tick with nothing
allocated but a list slot. Requests are the same as before: one list per workflow and tick, and
a watch whose list is not worth it (or lacks its run) gets its own GET, as a poll would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from airflow_provider_pseven.client.calls import Reply, Watch
from airflow_provider_pseven.client.coalesce import ListCoalescer
from airflow_provider_pseven.client.ticks import RESOLUTION


@dataclass(eq=False)
class _Watcher:
    watch: Watch
    future: asyncio.Future[Reply]


_Due = tuple[float, str, str]  # (instant, base, list path)


class ListWatches:
    """The pending watches of one async client, by the tick they are due at and their list."""

    def __init__(
        self,
        lists: ListCoalescer,
        *,
        clock: Callable[[], float],
        pause_seconds: Callable[[Watch, float], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._lists = lists
        self._clock = clock
        self._pause_seconds = pause_seconds
        self._sleep = sleep
        self._due: dict[_Due, list[_Watcher]] = {}
        self._timers: set[asyncio.Task[None]] = set()
        #: Watches answered unchanged and kept asleep (for tests, benchmarks and logs).
        self.kept_asleep = 0

    @property
    def pending(self) -> int:
        """Watches waiting for a tick."""
        return sum(len(group) for group in self._due.values())

    async def watch(self, watch: Watch) -> Reply:
        """``watch``'s answer: the first reply that settles it, or the one at its deadline."""
        assert watch.call.listed_in is not None
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._schedule(_Watcher(watch, future), self._clock(), after=None)
        return await future  # a cancelled wait cancels only its own future

    def _schedule(self, watcher: _Watcher, now: float, after: float | None) -> tuple[float, list[_Watcher]]:
        """Put ``watcher`` in the group of its next tick (after the tick ``after`` that answered
        it, if any); return that tick's instant and group."""
        seconds = self._pause_seconds(watcher.watch, now)
        instant = round(now + seconds, RESOLUTION)
        if after is not None and instant <= after:
            # The clock read just short of the tick that answered it: the next tick, not this one.
            seconds += watcher.watch.pause.seconds
            instant = round(now + seconds, RESOLUTION)
        call = watcher.watch.call
        key = (instant, call.base.value, call.listed_in or "")
        group = self._due.get(key)
        if group is None:
            group = self._due[key] = []
            timer = asyncio.get_running_loop().create_task(self._tick(key, seconds))
            self._timers.add(timer)  # keep a reference until it is done
            timer.add_done_callback(self._timers.discard)
        group.append(watcher)
        return instant, group

    async def _tick(self, key: _Due, seconds: float) -> None:
        try:
            await self._sleep(seconds)
        except BaseException:
            for watcher in self._due.pop(key, ()):
                watcher.future.cancel()
            raise
        group = [w for w in self._due.pop(key, ()) if not w.future.done()]
        if not group:
            return
        try:
            answers: list[Reply | BaseException] = await self._lists.answer(
                key[1:], [w.watch.call for w in group]
            )
        except asyncio.CancelledError:
            for watcher in group:
                watcher.future.cancel()
            raise
        except Exception as error:  # answer() returns errors; anything else is a bug, told to each wait
            answers = [error] * len(group)
        now = self._clock()
        # Watches of one interval go on to one next tick; found once per interval, not per watch.
        next_group: dict[float, tuple[float, list[_Watcher]]] = {}
        for watcher, answer in zip(group, answers, strict=True):
            if watcher.future.done():
                continue
            watch = watcher.watch
            if isinstance(answer, BaseException):
                watcher.future.set_exception(answer)  # the wait logs it and watches again
            elif watch.settled(answer) or watch.expired(now):
                watcher.future.set_result(answer)
            else:
                self.kept_asleep += 1
                pause = watch.pause
                known = next_group.get(pause.seconds) if pause.aligned else None
                if known is not None and (pause.until is None or pause.until >= known[0]):
                    known[1].append(watcher)
                    continue
                instant, target = self._schedule(watcher, now, after=key[0])
                if pause.aligned and (pause.until is None or pause.until >= instant):
                    next_group[pause.seconds] = (instant, target)  # the interval's tick itself
