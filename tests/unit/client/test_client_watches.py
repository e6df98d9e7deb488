"""Watches: an async client keeps a wait asleep while its run's state stays the same, answering
every wait of one runs list with one list request per tick (client/watches.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, RunRef
from airflow_provider_pseven.client.models import RunState
from airflow_provider_pseven.client.retry import RetryPolicy
from airflow_provider_pseven.client.waiting import wait_for_run
from tests.support.clock import FakeClock

WORKFLOW = "f" * 32
START = 1_000_000.0  # a multiple of the intervals below: the first tick is one interval away


class Server:
    """Runs that are RUNNING until their time, then FINISHED; counts the requests it answers."""

    def __init__(self, clock: FakeClock, finish_at: dict[str, float], *, list_status: int = 200) -> None:
        self.clock = clock
        self.finish_at = finish_at
        self.list_status = list_status
        self.hidden: set[str] = set()  # runs the list leaves out
        self.requests: Counter[str] = Counter()

    def run(self, run_id: str) -> dict[str, Any]:
        state = "FINISHED" if self.clock.now >= self.finish_at[run_id] else "RUNNING"
        return {"id": run_id, "name": run_id, "state": state}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/runs/"):
            self.requests["list"] += 1
            if self.list_status != 200:
                return httpx.Response(self.list_status, json={"detail": "no list here"})
            body = [self.run(r) for r in self.finish_at if r not in self.hidden]
            return httpx.Response(200, json=body)
        run_id = request.url.path.rstrip("/").split("/")[-1]
        self.requests[run_id] += 1
        return httpx.Response(200, json=self.run(run_id))


def client_for(server: Server) -> AsyncPsevenClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    config = ClientConfig("https://pseven.test", token="t", api_path=".rest")
    return AsyncPsevenClient(
        config, http=http, sleep=server.clock.async_sleep, clock=server.clock.time, phase=0.0
    )


def wait(run_id: str, interval: float = 5.0, deadline: float | None = None) -> Any:
    return wait_for_run(
        RunRef.workflow(WORKFLOW, run_id), [RunState.FINISHED], interval=interval, deadline=deadline
    )


async def test_waits_whose_runs_stay_running_stay_asleep_and_share_one_list_per_tick():
    clock = FakeClock(START)
    runs = {f"{i:032x}": START + (12.0 if i % 2 else 47.0) for i in range(200)}
    server = Server(clock, runs)
    client = client_for(server)

    results = await asyncio.gather(*(client.run(wait(r)) for r in runs))

    assert {r.status for r in results} == {"success"}
    # The first look, then a tick every 5 s until 50 s: one list request each, no run's own GET.
    assert server.requests == Counter({"list": 11})
    assert client.watches is not None
    # 100 runs finish at the 3rd tick, 100 at the 10th: the looks that found a run unchanged.
    assert client.watches.kept_asleep == 100 * 2 + 100 * 9
    assert client.watches.pending == 0
    await client.aclose()


async def test_a_deadline_between_two_ticks_ends_the_wait_at_the_deadline():
    clock = FakeClock(START)
    server = Server(clock, {"a" * 32: START + 100.0, "b" * 32: START + 100.0})
    client = client_for(server)

    results = await asyncio.gather(*(client.run(wait(r, deadline=START + 7.0)) for r in server.finish_at))

    assert [r.status for r in results] == ["timeout", "timeout"]
    assert "still RUNNING at its deadline" in results[0].message
    assert clock.now == START + 7.0  # the tick at 5 s, then the deadline at 7 s, not the tick at 10 s
    await client.aclose()


async def test_a_run_the_list_leaves_out_is_read_on_its_own_and_still_sleeps_between_looks():
    clock = FakeClock(START)
    runs = {f"{i:032x}": START + 22.0 for i in range(5)}
    server = Server(clock, runs)
    hidden = next(iter(runs))
    server.hidden.add(hidden)
    client = client_for(server)

    results = await asyncio.gather(*(client.run(wait(r)) for r in runs))

    assert {r.status for r in results} == {"success"}
    # Looks at 0, 5, 10, 15, 20 and 25 s: the hidden run's own GET each time, no more.
    assert server.requests[hidden] == 6 and server.requests["list"] == 6
    await client.aclose()


async def test_a_server_without_runs_lists_gets_each_run_polled_at_each_tick():
    clock = FakeClock(START)
    runs = {f"{i:032x}": START + 12.0 for i in range(4)}
    server = Server(clock, runs, list_status=404)
    client = client_for(server)

    results = await asyncio.gather(*(client.run(wait(r)) for r in runs))

    assert {r.status for r in results} == {"success"}
    assert server.requests["list"] == 1  # refused once, then never asked again
    assert all(server.requests[r] == 4 for r in runs)  # looks at 0, 5, 10 and 15 s
    await client.aclose()


def failing_lists(server: Server, client: AsyncPsevenClient, status: int, at: float) -> None:
    """The runs list answers ``status`` at the tick ``at`` (retries included), as before after."""
    answer = server.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/runs/") and at <= server.clock.now < at + 1.0:
            server.requests["refused"] += 1
            return httpx.Response(status, json={"detail": "broken"})
        return answer(request)

    client.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_a_list_refused_mid_wait_gets_each_run_read_on_its_own_from_then():
    clock = FakeClock(START)
    runs = {f"{i:032x}": START + 12.0 for i in range(3)}
    server = Server(clock, runs)
    client = client_for(server)
    failing_lists(server, client, 400, at=START + 5.0)

    results = await asyncio.gather(*(client.run(wait(r)) for r in runs))

    assert {r.status for r in results} == {"success"}
    assert server.requests["refused"] == 1 and server.requests["list"] == 1  # the first look only
    assert all(server.requests[r] == 3 for r in runs)  # 5, 10 and 15 s
    await client.aclose()


async def test_a_list_failing_past_its_retries_is_logged_by_each_wait_which_watches_on(
    caplog: pytest.LogCaptureFixture,
):
    clock = FakeClock(START)
    runs = {f"{i:032x}": START + 12.0 for i in range(3)}
    server = Server(clock, runs)
    config = ClientConfig("https://pseven.test", token="t", api_path=".rest", retry=RetryPolicy(attempts=1))
    client = AsyncPsevenClient(config, sleep=clock.async_sleep, clock=clock.time, phase=0.0)
    failing_lists(server, client, 503, at=START + 5.0)
    caplog.set_level("WARNING", logger="airflow_provider_pseven.client")

    results = await asyncio.gather(*(client.run(wait(r)) for r in runs))

    assert {r.status for r in results} == {"success"}
    assert server.requests["refused"] == 1  # one list request for the three waits, refused
    warned = [m for m in caplog.messages if "could not read its state" in m]
    assert len(warned) == 3 and all("503" in m for m in warned)
    assert clock.now == START + 15.0  # the next ticks came as usual: 10 s (RUNNING), 15 s
    await client.aclose()


async def test_a_cancelled_wait_leaves_the_others_watching():
    clock = FakeClock(START)
    runs = {"a" * 32: START + 1000.0, "b" * 32: START + 12.0, "c" * 32: START + 12.0}
    server = Server(clock, runs)
    client = client_for(server)
    waits = {r: asyncio.create_task(client.run(wait(r))) for r in runs}
    for _ in range(20):
        await asyncio.sleep(0)

    waits["a" * 32].cancel()
    results = await asyncio.gather(waits["b" * 32], waits["c" * 32])

    assert [r.status for r in results] == ["success", "success"]
    assert waits["a" * 32].cancelled()
    assert client.watches is not None and client.watches.pending == 0
    await client.aclose()


async def test_without_coalescing_a_watch_is_plain_sleeps_and_polls():
    clock = FakeClock(START)
    server = Server(clock, {"a" * 32: START + 12.0})
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    config = ClientConfig("https://pseven.test", token="t", api_path=".rest")
    client = AsyncPsevenClient(
        config, http=http, sleep=clock.async_sleep, clock=clock.time, phase=0.0, coalesce=False
    )

    result = await client.run(wait("a" * 32))

    assert result.status == "success" and client.watches is None
    assert server.requests == Counter({"a" * 32: 4}) and clock.sleeps == [5.0, 5.0, 5.0]
    await client.aclose()
