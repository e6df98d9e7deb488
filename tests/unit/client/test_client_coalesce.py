"""List coalescing: many run-state polls of one workflow answered by one runs-list request."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_pseven.client.calls import Base, Call, Reply
from airflow_provider_pseven.client.coalesce import ListCoalescer
from airflow_provider_pseven.client.errors import PsevenNotFoundError, PsevenServerError
from airflow_provider_pseven.client.operations import RunRef, get_run_summary
from airflow_provider_pseven.client.waiting import _pause

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


@pytest.mark.parametrize("now", [1000.0, 1000.3, 1004.9, 1234.56])
def test_aligned_waits_tick_together(monkeypatch, now):
    monkeypatch.setattr("airflow_provider_pseven.client.waiting.time.time", lambda: now)
    pause = _pause(None, 5.0, aligned=True).seconds
    assert 0 < pause <= 5.0
    # The next tick is the same instant for every aligned wait of the process, wherever it started.
    monkeypatch.setattr("airflow_provider_pseven.client.waiting.time.time", lambda: now + 1.7)
    later = _pause(None, 5.0, aligned=True).seconds
    assert (now + pause) % 5.0 == pytest.approx((now + 1.7 + later) % 5.0)
    assert _pause(None, 5.0).seconds == 5.0  # not aligned: the plain interval


def test_the_tick_phase_is_the_process_s_own(monkeypatch):
    monkeypatch.setattr("airflow_provider_pseven.client.waiting.time.time", lambda: 1000.0)
    monkeypatch.setattr("airflow_provider_pseven.client.waiting._PHASE", 0.25)
    assert _pause(None, 4.0, aligned=True).seconds == pytest.approx(1.0)
    monkeypatch.setattr("airflow_provider_pseven.client.waiting._PHASE", 0.5)
    assert _pause(None, 4.0, aligned=True).seconds == pytest.approx(2.0)


def test_a_pause_never_passes_the_deadline(monkeypatch):
    monkeypatch.setattr("airflow_provider_pseven.client.waiting.time.time", lambda: 100.0)
    assert _pause(100.5, 5.0, aligned=True).seconds <= 0.5
