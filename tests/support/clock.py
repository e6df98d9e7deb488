"""The fake clock every unit test injects into the clients (``clock=``, ``sleep=``): only their
sleeps move it, so no test waits for real and no test patches ``time`` in a module."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class FakeClock:
    """Wall-clock time that starts at ``now`` and moves only when something sleeps on it."""

    def __init__(self, now: float | None = None) -> None:
        if now is None:
            import time as real_time

            now = real_time.time()
        self.now = now
        self.sleeps: list[float] = []
        #: Called after every sleep: a fake server moves its runs along as time passes.
        self.on_sleep: list[Callable[[], None]] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        """For Airflow's own poke loop (BaseSensorOperator), which times itself with ``time``."""
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for callback in self.on_sleep:
            callback()

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)
