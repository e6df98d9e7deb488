"""Shared ticks: aligned sleeps of one async client that end at one instant share one timer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, RunRef
from airflow_provider_pseven.client.models import RunState
from airflow_provider_pseven.client.ticks import SharedTicks
from airflow_provider_pseven.client.waiting import wait_for_run
from tests.support.clock import FakeClock


class CountingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await self.release.wait()


async def _settle() -> None:
    """Let the waits and their timer tasks run to their first suspension."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_sleeps_ending_at_one_instant_share_one_timer():
    sleep = CountingSleep()
    ticks = SharedTicks(sleep)
    waits = [asyncio.create_task(ticks.sleep(5.0 - i * 0.01, 1000.0)) for i in range(100)]
    await _settle()

    assert sleep.calls == [5.0] and ticks.pending == 1
    sleep.release.set()
    await asyncio.wait_for(asyncio.gather(*waits), 1)
    assert ticks.pending == 0


async def test_float_error_of_the_aligned_arithmetic_is_one_instant():
    sleep = CountingSleep()
    ticks = SharedTicks(sleep)
    waits = [
        asyncio.create_task(ticks.sleep(1.0, until))
        for until in (1000.0, 1000.0000000001, 999.9999999999, 1000.2)
    ]
    await _settle()

    assert len(sleep.calls) == 2  # 1000.0 (three of them) and 1000.2
    sleep.release.set()
    await asyncio.gather(*waits)


async def test_a_cancelled_wait_leaves_the_others_sleeping():
    sleep = CountingSleep()
    ticks = SharedTicks(sleep)
    first, second = (asyncio.create_task(ticks.sleep(5.0, 1000.0)) for _ in range(2))
    await asyncio.sleep(0)

    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.sleep(0)
    assert not second.done()

    sleep.release.set()
    await asyncio.wait_for(second, 1)


async def test_a_cancelled_timer_cancels_its_waits():
    """The loop shutting down cancels the timer's sleep: its waits end cancelled, not hanging."""
    sleeping: list[asyncio.Future[None]] = []

    async def sleep(seconds: float) -> None:
        sleeping.append(asyncio.get_running_loop().create_future())
        await sleeping[-1]

    ticks = SharedTicks(sleep)
    wait = asyncio.create_task(ticks.sleep(5.0, 1000.0))
    await _settle()
    sleeping[0].cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(wait, 1)
    assert ticks.pending == 0


def _list_transport(states: dict[str, list[str]]) -> httpx.MockTransport:
    """A runs list per poll: each run reads the next of its states (the last one stays)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = [
            {"id": rid, "name": rid, "state": (s.pop(0) if len(s) > 1 else s[0])} for rid, s in states.items()
        ]
        return httpx.Response(200, json=body if request.url.path.endswith("/runs/") else body[0])

    return httpx.MockTransport(handler)


async def test_a_thousand_aligned_waits_sleep_once_per_tick():
    """The driver's part: 1,000 waits polling every 5 s make one sleep per tick, on the injected
    clock, and each still sees its own run finish."""
    clock = FakeClock(1_000_000.0)
    states = {f"{i:032x}": ["RUNNING"] * (1 + i % 3) + ["FINISHED"] for i in range(1000)}
    http = httpx.AsyncClient(transport=_list_transport(states))
    config = ClientConfig("https://pseven.test", token="t", api_path=".rest")
    client = AsyncPsevenClient(config, http=http, sleep=clock.async_sleep, clock=clock.time, phase=0.0)

    results = await asyncio.gather(
        *(
            client.run(wait_for_run(RunRef.workflow("f" * 32, rid), [RunState.FINISHED], interval=5.0))
            for rid in states
        )
    )

    assert {r.status for r in results} == {"success"}
    # Three ticks (runs finish after one to three RUNNING reads), each one sleep of 5 s, not
    # 1,000 sleeps of it: the waits of this client tick together.
    assert clock.sleeps == [5.0, 5.0, 5.0]
    await client.aclose()
