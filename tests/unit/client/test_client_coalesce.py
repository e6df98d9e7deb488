"""List coalescing: many run-state polls of one workflow answered by one runs-list request."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_pseven.client.calls import Base, Call, Reply, Sleep
from airflow_provider_pseven.client.coalesce import ListCoalescer
from airflow_provider_pseven.client.config import ClientConfig
from airflow_provider_pseven.client.core import ClientCore
from airflow_provider_pseven.client.errors import PsevenNotFoundError, PsevenServerError
from airflow_provider_pseven.client.operations import RunRef, get_run_summary

RUNS = "workflows/wf/runs/"


def _summary_call(run_id: str, listed_in: str = RUNS) -> Call:
    return Call("GET", f"{listed_in}{run_id}/", listed_in=listed_in, item_id=run_id)


class FakeServer:
    def __init__(self, run_ids: list[str], list_error: Exception | None = None) -> None:
        self.run_ids = run_ids
        self.list_error = list_error
        self.calls: list[str] = []

    async def send(self, call: Call) -> Reply:
        self.calls.append(call.path)
        await asyncio.sleep(0)
        if call.path == RUNS:
            if self.list_error:
                raise self.list_error
            body = [{"id": rid, "state": "RUNNING", "name": rid} for rid in self.run_ids]
        else:
            rid = call.path.rstrip("/").rsplit("/", 1)[-1]
            body = {"id": rid, "state": "FINISHED", "name": rid}
        return Reply(200, {"content-type": "application/json"}, json.dumps(body).encode(), call.path, call)


async def test_concurrent_polls_of_one_workflow_share_one_list_request():
    server = FakeServer([f"r{i}" for i in range(50)])
    coalescer = ListCoalescer(server.send, window=0.01)

    replies = await asyncio.gather(*(coalescer.send(_summary_call(f"r{i}")) for i in range(50)))

    assert server.calls == [RUNS]
    assert [r.json()["id"] for r in replies] == [f"r{i}" for i in range(50)]
    assert all(r.json()["state"] == "RUNNING" for r in replies)
    assert coalescer.list_requests == 1 and coalescer.answered_from_lists == 50


async def test_few_polls_go_alone():
    server = FakeServer(["a", "b"])
    coalescer = ListCoalescer(server.send, window=0.01, min_batch=3)

    replies = await asyncio.gather(coalescer.send(_summary_call("a")), coalescer.send(_summary_call("b")))

    assert sorted(server.calls) == [f"{RUNS}a/", f"{RUNS}b/"]
    assert {r.json()["state"] for r in replies} == {"FINISHED"}


async def test_a_run_missing_from_the_list_gets_its_own_request():
    server = FakeServer(["a", "b", "c"])
    coalescer = ListCoalescer(server.send, window=0.01)

    replies = await asyncio.gather(*(coalescer.send(_summary_call(r)) for r in ("a", "b", "c", "new")))

    assert server.calls == [RUNS, f"{RUNS}new/"]
    assert replies[-1].json() == {"id": "new", "state": "FINISHED", "name": "new"}


async def test_a_long_list_is_not_used_for_few_polls():
    server = FakeServer([f"r{i}" for i in range(1000)])
    coalescer = ListCoalescer(server.send, window=0.01, max_items_per_call=20)
    await asyncio.gather(*(coalescer.send(_summary_call(f"r{i}")) for i in range(5)))  # learns the size
    server.calls.clear()

    await asyncio.gather(*(coalescer.send(_summary_call(f"r{i}")) for i in range(5)))

    assert RUNS not in server.calls and len(server.calls) == 5


async def test_a_transient_list_error_reaches_every_waiter():
    error = PsevenServerError("GET", RUNS, 503, "busy")
    server = FakeServer(["a", "b", "c"], list_error=error)
    coalescer = ListCoalescer(server.send, window=0.01)

    results = await asyncio.gather(*(coalescer.send(_summary_call(r)) for r in "abc"), return_exceptions=True)

    assert results == [error, error, error]


async def test_a_server_that_cannot_list_falls_back_for_good():
    server = FakeServer(["a", "b", "c"], list_error=PsevenNotFoundError("GET", RUNS, 404, "Not found."))
    coalescer = ListCoalescer(server.send, window=0.01)

    await asyncio.gather(*(coalescer.send(_summary_call(r)) for r in "abc"))
    await asyncio.gather(*(coalescer.send(_summary_call(r)) for r in "abc"))

    assert server.calls.count(RUNS) == 1
    assert len(server.calls) == 7


async def test_separate_workflows_are_separate_batches():
    server = FakeServer([])
    coalescer = ListCoalescer(server.send, window=0.01)
    other = "workflows/other/runs/"

    await asyncio.gather(
        *(coalescer.send(_summary_call(f"r{i}")) for i in range(3)),
        *(coalescer.send(_summary_call(f"o{i}", other)) for i in range(3)),
        return_exceptions=True,
    )

    assert server.calls.count(RUNS) == 1 and server.calls.count(other) == 1


def test_run_summary_calls_name_their_runs_list():
    op = get_run_summary(RunRef.workflow("wf", "r1"))
    call = next(op)
    assert isinstance(call, Call)
    assert (call.path, call.listed_in, call.item_id, call.base) == (
        "workflows/wf/runs/r1/",
        "workflows/wf/runs/",
        "r1",
        Base.PSEVEN,
    )


def core_at(now: list[float], phase: float = 0.3) -> ClientCore:
    """A client core whose clock reads ``now[0]`` (tests move it by hand)."""
    return ClientCore(ClientConfig(host="http://p7.test", token="t"), clock=lambda: now[0], phase=phase)


@pytest.mark.parametrize("start", [1000.0, 1000.3, 1004.9, 1234.56])
def test_aligned_waits_tick_together(start):
    now = [start]
    core = core_at(now)
    pause = core.pause_seconds(Sleep(5.0, aligned=True))
    assert 0 < pause <= 5.0
    # The next tick is the same instant for every aligned wait of the process, wherever it started.
    now[0] = start + 1.7
    later = core.pause_seconds(Sleep(5.0, aligned=True))
    assert (start + pause) % 5.0 == pytest.approx((start + 1.7 + later) % 5.0)
    assert core.pause_seconds(Sleep(5.0)) == 5.0  # not aligned: the plain interval


def test_the_tick_phase_is_the_client_s_own():
    assert core_at([1000.0], phase=0.25).pause_seconds(Sleep(4.0, aligned=True)) == pytest.approx(1.0)
    assert core_at([1000.0], phase=0.5).pause_seconds(Sleep(4.0, aligned=True)) == pytest.approx(2.0)


def test_a_pause_never_passes_the_deadline():
    assert core_at([100.0]).pause_seconds(Sleep(5.0, aligned=True, until=100.5)) <= 0.5
    assert core_at([100.0]).pause_seconds(Sleep(5.0, until=99.0)) == 0.0
