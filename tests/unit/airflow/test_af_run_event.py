"""RunEventTrigger: one event per look carrying its runs, split by size; the watermark in the asset
state store, restarts, the store being unavailable, ack-mode confirmation, the shared stream's key
and its error handling.

The runs lists are built here (snapshots fed to ``filter_shared_stream`` as the triggerer's shared
stream would); run details and the stream's own polling go through respx; the clock is fake.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from af_support import (
    HOST,
    PSEVEN,
    WF_ID,
    FakeClock,
    import_string,
    run_json,
    runs_url,
    std_log,
    workflow_json,
)

from airflow_provider_pseven import compat
from airflow_provider_pseven.client import Run
from airflow_provider_pseven.compat import HAS_EVENT_WATCHERS
from airflow_provider_pseven.triggers import RunEventTrigger
from airflow_provider_pseven.triggers.run_stream import RunsStream, Snapshot, acked_producer
from airflow_provider_pseven.triggers.watermark_store import WatermarkStore

pytestmark = pytest.mark.skipif(
    not HAS_EVENT_WATCHERS,
    reason="needs Airflow 3.3+: RunEventTrigger (event watchers, shared streams, the asset state store); "
    "older Airflow refuses RunEventTrigger naming the version (tests/compat/test_compat.py)",
)

R1, R2, R3 = "1" * 32, "2" * 32, "3" * 32
SECRET = "SECRET-RESULT-never-shown"


class FakeAssetStore:
    """One asset's state store accessor (``aget``/``aset``), which can be made to fail."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes: list[Any] = []
        self.fail_reads = 0
        self.fail_writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        if self.fail_reads:
            self.fail_reads -= 1
            raise RuntimeError("API server error: the metadata database is unavailable")
        return self.data.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        if self.fail_writes:
            self.fail_writes -= 1
            raise RuntimeError("API server error: the metadata database is unavailable")
        self.data[key] = value
        self.writes.append(value)

    @property
    def value(self) -> Any:
        (value,) = self.data.values()
        return value


def summary(run_id: str, state: str) -> Run:
    return Run.from_json(run_json(state, run_id=run_id, name=f"run-{run_id[0]}"))


def results_json(run_id: str) -> dict[str, Any]:
    return run_json(
        "FINISHED",
        run_id=run_id,
        name=f"run-{run_id[0]}",
        results=[
            {"id": "r", "name": "MyResult", "value": {"type": "Integer", "data": 99}, "labels": {}},
            {"id": "s", "name": "Token", "value": {"type": "Secret", "data": SECRET}, "labels": {}},
        ],
    )


@pytest.fixture
def router(loop_clients: None) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        for run_id in (R1, R2, R3):
            mock.get(f"{runs_url()}{run_id}/").respond(200, json=results_json(run_id))
        yield mock


def watcher(store: FakeAssetStore | None = None, **kwargs: Any) -> RunEventTrigger:
    trigger = RunEventTrigger(workflow=kwargs.pop("workflow", WF_ID), **kwargs)
    trigger.asset_state_store = store  # what the triggerer injects
    return std_log(trigger)


def stream(trigger: RunEventTrigger, *, acked: bool = False) -> RunsStream:
    _, kwargs = trigger.serialize()
    shared = RunsStream(kwargs, acked=acked)
    shared.parent_id = WF_ID
    return shared


async def feed(shared: RunsStream, *polls: list[Run]) -> AsyncIterator[Snapshot]:
    for seq, runs in enumerate(polls, 1):
        yield Snapshot(seq, tuple(runs), 1_800_000_000.0 + 30 * seq, shared)


async def payloads(trigger: RunEventTrigger, *polls: list[Run], acked: bool = False) -> list[dict[str, Any]]:
    """The events' payloads, one per event."""
    shared = stream(trigger, acked=acked)
    return [event.payload async for event in trigger.filter_shared_stream(feed(shared, *polls))]


async def reported(trigger: RunEventTrigger, *polls: list[Run], acked: bool = False) -> list[dict[str, Any]]:
    """The runs of all events, in order."""
    return [run for payload in await payloads(trigger, *polls, acked=acked) for run in payload["runs"]]


# --- events and payloads ------------------------------------------------------------------------


async def test_each_run_that_ends_is_one_event_with_its_summary_and_results(router):
    store = FakeAssetStore()
    trigger = watcher(store)
    events = await reported(
        trigger,
        [summary(R1, "RUNNING"), summary(R2, "FINISHED")],  # R2 ended before the watcher started
        [summary(R1, "FINISHED"), summary(R2, "FINISHED"), summary(R3, "RUNNING")],
        [summary(R1, "FINISHED"), summary(R2, "FINISHED"), summary(R3, "FINISHED")],
        [summary(R1, "FINISHED"), summary(R2, "FINISHED"), summary(R3, "FINISHED")],
    )
    assert [e["run_id"] for e in events] == [R1, R3]
    assert events[0] == {
        "workflow_id": WF_ID,
        "run_id": R1,
        "name": "run-1",
        "path": "/Users/1/ToyWorkflow.p7wf/@Runs/run-1.p7run",
        "url": f"{HOST}/pseven/runs/{R1}",
        "state": "FINISHED",
        "results": {"MyResult": 99, "Token": ""},
    }
    assert SECRET not in str(store.writes) + str(events)
    # baseline, then per reported run: pending before the event, seen after it
    assert [w["pending"] for w in store.writes] == [[], [R1], [], [R3], []]


async def test_runs_ending_in_one_poll_are_one_event_and_two_writes(router):
    """One event per look: Airflow 3.3.2 would leave a second event of the same look behind its
    asset's queue row (docs/events.md)."""
    store = FakeAssetStore()
    events = await payloads(
        watcher(store),
        [summary(R1, "RUNNING"), summary(R2, "RUNNING")],
        [summary(R1, "FINISHED"), summary(R2, "FINISHED")],
    )
    assert [[r["run_id"] for r in e["runs"]] for e in events] == [[R1, R2]]
    assert set(events[0]) == {"runs"}
    assert [w["pending"] for w in store.writes] == [[], [R1, R2], []]


async def test_a_burst_over_the_size_limit_is_split_across_looks_never_cut(router, monkeypatch):
    from airflow_provider_pseven.client import event_payload

    one = len(
        json.dumps(
            event_payload.batch_payload(
                [
                    (
                        await reported(
                            watcher(FakeAssetStore()), [summary(R1, "RUNNING")], [summary(R1, "FINISHED")]
                        )
                    )[0]
                ]
            )
        )
    )
    monkeypatch.setattr(event_payload, "EVENT_BYTES", int(one * 2.5))  # two runs fit, not three
    store = FakeAssetStore()
    ended = [summary(R1, "FINISHED"), summary(R2, "FINISHED"), summary(R3, "FINISHED")]
    events = await payloads(
        watcher(store), [summary(r, "RUNNING") for r in (R1, R2, R3)], ended, ended, ended
    )
    assert [[r["run_id"] for r in e["runs"]] for e in events] == [[R1, R2], [R3]]
    assert all(r["results"] == {"MyResult": 99, "Token": ""} for e in events for r in e["runs"])
    assert [w["pending"] for w in store.writes] == [[], [R1, R2], [], [R3], []]


async def test_a_run_larger_than_the_limit_goes_alone_and_whole(router, monkeypatch):
    monkeypatch.setattr("airflow_provider_pseven.client.event_payload.EVENT_BYTES", 10)
    ended = [summary(R1, "FINISHED"), summary(R2, "FINISHED")]
    events = await payloads(
        watcher(FakeAssetStore()), [summary(R1, "RUNNING"), summary(R2, "RUNNING")], ended, ended
    )
    assert [[r["run_id"] for r in e["runs"]] for e in events] == [[R1], [R2]]
    assert events[0]["runs"][0]["results"] == {"MyResult": 99, "Token": ""}


async def test_include_results_false_reads_no_details(router):
    events = await reported(
        watcher(FakeAssetStore(), include_results=False),
        [summary(R1, "RUNNING")],
        [summary(R1, "FINISHED")],
    )
    assert events[0]["run_id"] == R1 and "results" not in events[0]
    assert not any(call.request.url.path.endswith(f"{R1}/") for call in router.calls)


async def test_failed_runs_are_reported_only_when_asked_for(router):
    runs = [
        [summary(R1, "RUNNING"), summary(R2, "RUNNING")],
        [summary(R1, "FAILED"), summary(R2, "FINISHED")],
    ]
    assert [e["run_id"] for e in await reported(watcher(FakeAssetStore()), *runs)] == [R2]
    failures = await reported(watcher(FakeAssetStore(), states=["FAILED", "INTERRUPTED"]), *runs)
    assert [(e["run_id"], e["state"], e["results"]) for e in failures] == [(R1, "FAILED", {})]


async def test_a_run_deleted_before_its_results_are_read_is_reported_without_results(router):
    router.get(f"{runs_url()}{R1}/").respond(404, json={"detail": "Not found."})
    events = await reported(watcher(FakeAssetStore()), [summary(R1, "RUNNING")], [summary(R1, "FINISHED")])
    assert events[0]["run_id"] == R1 and events[0]["results"] == {}


async def test_results_that_cannot_be_read_yet_wait_for_the_next_poll(router, clock):
    router.get(f"{runs_url()}{R1}/").mock(
        side_effect=[httpx.Response(400, json={"detail": "bad"}), httpx.Response(200, json=results_json(R1))]
    )
    runs = [summary(R1, "FINISHED")]
    events = await reported(watcher(FakeAssetStore()), [summary(R1, "RUNNING")], runs, runs)
    assert [(e["run_id"], e["results"]["MyResult"]) for e in events] == [(R1, 99)]


async def test_since_backfills_runs_that_ended_at_or_after_it(router):
    old = Run.from_json({**run_json("FINISHED", run_id=R1), "finished": "2026-01-01T00:00:00Z"})
    new = Run.from_json({**run_json("FINISHED", run_id=R2), "finished": "2026-02-01T00:00:00Z"})
    events = await reported(watcher(FakeAssetStore(), since="2026-01-15T00:00:00Z"), [old, new], [old, new])
    assert [e["run_id"] for e in events] == [R2]


# --- restarts -------------------------------------------------------------------------------------


async def test_a_restarted_watcher_reports_nothing_twice_and_loses_nothing(router):
    store = FakeAssetStore()
    assert [
        e["run_id"]
        for e in await reported(watcher(store), [summary(R1, "RUNNING")], [summary(R1, "FINISHED")])
    ] == [R1]
    # the triggerer restarts: a new trigger instance reads the same store
    events = await reported(
        watcher(store),
        [summary(R1, "FINISHED"), summary(R2, "FINISHED")],  # R2 ended while it was down
        [summary(R1, "FINISHED"), summary(R2, "FINISHED")],
    )
    assert [e["run_id"] for e in events] == [R2]


async def test_a_crash_between_the_event_and_its_confirmation_reports_the_run_again_marked(router):
    store = FakeAssetStore()
    trigger = watcher(store)
    shared = stream(trigger, acked=True)  # the triggerer never confirms: it died
    events = [
        run
        async for e in trigger.filter_shared_stream(
            feed(shared, [summary(R1, "RUNNING")], [summary(R1, "FINISHED")])
        )
        for run in e.payload["runs"]
    ]
    assert [e["run_id"] for e in events] == [R1] and store.value["pending"] == [R1]

    again = await reported(watcher(store), [summary(R1, "FINISHED")], [summary(R1, "FINISHED")])
    assert [(e["run_id"], e.get("redelivered")) for e in again] == [(R1, True)]


async def test_a_watermark_of_another_watcher_is_not_used(router):
    store = FakeAssetStore()
    await reported(watcher(store), [summary(R1, "RUNNING")], [summary(R1, "FINISHED")])
    other = watcher(store, states=["FAILED"])  # another filter: its own key in the same asset
    await reported(other, [summary(R1, "FINISHED")])
    assert len(store.data) == 2


# --- ack mode: confirmed only once Airflow stored the events ----------------------------------------


async def test_in_ack_mode_runs_count_as_seen_only_after_airflow_stored_their_events(router):
    store = FakeAssetStore()
    trigger = watcher(store)
    shared = stream(trigger, acked=True)
    events = [
        e
        async for e in trigger.filter_shared_stream(
            feed(shared, [summary(R1, "RUNNING")], [summary(R1, "FINISHED")])
        )
    ]
    assert len(events) == 1 and store.value["pending"] == [R1]
    await shared.stored(2, clean=False)  # Airflow failed some watcher's events of poll 2
    assert store.value["pending"] == [R1]
    shared.when_stored(2, trigger._confirm)
    await shared.stored(2, clean=True)
    assert store.value["pending"] == []


async def test_the_producer_confirms_the_polls_airflow_stored():
    from airflow.triggers.shared_stream import AdvanceItem, AdvanceOutcome

    confirmed: list[int] = []

    async def confirm(seq: int) -> None:
        confirmed.append(seq)

    shared = RunsStream({"workflow": WF_ID}, acked=True)
    producer = acked_producer(shared)
    shared.when_stored(3, confirm)
    shared.when_stored(4, confirm)
    await producer.advance(
        [AdvanceItem(3, AdvanceOutcome(acked=2, failed=0)), AdvanceItem(4, AdvanceOutcome(acked=1, failed=1))]
    )
    assert confirmed == [3]


# --- the state store unavailable ---------------------------------------------------------------------


async def test_a_store_that_cannot_be_read_holds_events_back_until_it_can(router, caplog):
    store = FakeAssetStore()
    await reported(watcher(store), [summary(R1, "RUNNING")])  # watching from before R1 ended
    store.fail_reads = 2
    trigger = watcher(store)
    with caplog.at_level(logging.WARNING):
        events = await reported(
            trigger, [summary(R1, "FINISHED")], [summary(R1, "FINISHED")], [summary(R1, "FINISHED")]
        )
    # not read: not "no watermark" (which would have taken R1 as ended before the start)
    assert [e["run_id"] for e in events] == [R1]
    assert sum("cannot read its watermark" in r.getMessage() for r in caplog.records) == 1


async def test_a_store_that_cannot_be_written_reports_nothing_until_it_can(router):
    store = FakeAssetStore()
    trigger = watcher(store)
    shared = stream(trigger)
    polls = [
        [summary(R1, "RUNNING")],
        [summary(R1, "FINISHED")],
        [summary(R1, "FINISHED")],
        [summary(R1, "FINISHED")],
    ]
    events = []
    async for snapshot in feed(shared, *polls):
        store.fail_writes = 1 if snapshot.seq == 2 else 0  # the pending write of R1 fails once

        async def one(s: Snapshot = snapshot) -> AsyncIterator[Snapshot]:
            yield s

        events += [run async for e in trigger.filter_shared_stream(one()) for run in e.payload["runs"]]
    assert [e["run_id"] for e in events] == [R1]
    assert store.value["pending"] == []


async def test_a_confirmation_that_cannot_be_written_is_retried_and_never_taken_as_done(router):
    store = FakeAssetStore()
    trigger = watcher(store)
    shared = stream(trigger, acked=True)
    [
        e
        async for e in trigger.filter_shared_stream(
            feed(shared, [summary(R1, "RUNNING")], [summary(R1, "FINISHED")])
        )
    ]
    store.fail_writes = 1
    await trigger._confirm(2)
    assert store.value["pending"] == [R1]  # the store still says pending: a restart would redeliver
    assert [e async for e in trigger.filter_shared_stream(feed(shared, [summary(R1, "FINISHED")]))] == []
    assert store.value["pending"] == []  # written with the next poll


def test_the_store_writes_every_asset_of_the_watcher():
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors

    accessors = AssetStateStoreAccessors(
        inlets=[Asset(name="a", uri="pseven://h/a"), Asset(name="b", uri="pseven://h/b")]
    )
    assert len(WatermarkStore(accessors, "k").accessors) == 2
    assert WatermarkStore(None, "k").accessors == []


# --- the shared stream ---------------------------------------------------------------------------


def test_watchers_of_one_workflow_and_interval_share_a_stream_whatever_their_states():
    a = RunEventTrigger(workflow="/Users/1/Toy.p7wf", states=["FINISHED"], poll_interval=30)
    b = RunEventTrigger(
        workflow="/Users/1/Toy.p7wf", states=["FAILED"], include_results=False, poll_interval=30.0
    )
    assert a.shared_stream_key() == b.shared_stream_key()
    assert a.shared_stream_key() != RunEventTrigger(workflow="/Users/1/Other.p7wf").shared_stream_key()
    assert a.shared_stream_key() != RunEventTrigger(app="/Users/1/Toy.p7wf").shared_stream_key()
    assert (
        a.shared_stream_key()
        != RunEventTrigger(workflow="/Users/1/Toy.p7wf", pseven_conn_id="other").shared_stream_key()
    )


def test_serialization_round_trips_as_the_triggerer_rebuilds_it():
    trigger = RunEventTrigger(app="Toy app", states=["finished", "FAILED"], poll_interval=10, since=0)
    path, kwargs = trigger.serialize()
    again = import_string(path)(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert kwargs["states"] == ["FINISHED", "FAILED"] and kwargs["since"] == "1970-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"workflow": "a", "app": "b"},
        {"workflow": " "},
        {"workflow": "a", "states": ["RUNNING"]},
        {"workflow": "a", "states": []},
        {"workflow": "a", "poll_interval": 0},
        {"workflow": "a", "since": "soon"},
    ],
)
def test_mistakes_fail_at_parse_time(kwargs):
    with pytest.raises(ValueError, match="RunEventTrigger"):
        RunEventTrigger(**kwargs)


def test_refused_before_airflow_3_3_naming_the_version(monkeypatch):
    monkeypatch.setattr(compat, "HAS_EVENT_WATCHERS", False)
    with pytest.raises(compat.AirflowException, match=r"RunEventTrigger needs Airflow 3\.3 or newer"):
        RunEventTrigger(workflow=WF_ID)


async def _looks(shared: RunsStream, count: int) -> list[Snapshot]:
    snapshots = shared.snapshots()
    try:
        return [await anext(snapshots) for _ in range(count)]
    finally:
        await snapshots.aclose()


async def test_the_stream_resolves_the_workflow_once_and_polls_the_list_each_interval(
    router, clock: FakeClock
):
    router.get(f"{PSEVEN}workflows/").respond(200, json=[workflow_json()])
    listing = router.get(runs_url()).respond(200, json=[run_json("RUNNING")])
    shared = RunsStream({"workflow": "/Users/1/ToyWorkflow.p7wf", "poll_interval": 30}, acked=False)
    snapshots = await _looks(shared, 3)
    assert [s.seq for s in snapshots] == [1, 2, 3] and shared.parent_id == WF_ID
    assert listing.call_count == 3 and len(router.calls) == 4
    assert all(0 < s <= 30 for s in clock.sleeps)


async def test_transient_errors_are_retried_honouring_retry_after(router, clock: FakeClock, caplog):
    router.get(f"{PSEVEN}workflows/{WF_ID}/").respond(200, json=workflow_json())
    busy = httpx.Response(429, headers={"Retry-After": "600"}, json={"detail": "slow down"})
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return busy if len(calls) <= 3 else httpx.Response(200, json=[])

    router.get(runs_url()).mock(side_effect=answer)
    shared = RunsStream({"workflow": WF_ID, "poll_interval": 30}, acked=False)
    with caplog.at_level(logging.WARNING):
        (snapshot,) = await _looks(shared, 1)
    assert snapshot.runs == ()
    assert max(clock.sleeps) >= 120  # the server's Retry-After (capped), not the 30 s interval
    assert any("polling again" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.Response(404, json={"detail": "Not found."}), "does not exist"),
        (httpx.Response(403, json={"detail": "Invalid token."}), "create a new token"),
        (
            httpx.Response(
                200, text="<html><title>Sign in</title></html>", headers={"content-type": "text/html"}
            ),
            "wrong host",
        ),
    ],
)
async def test_permanent_errors_say_what_to_fix_and_are_retried_slowly(
    router, clock: FakeClock, caplog, answer, says
):
    router.get(f"{PSEVEN}workflows/{WF_ID}/").respond(200, json=workflow_json())
    calls = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answer if len(calls) <= 3 else httpx.Response(200, json=[])

    router.get(runs_url()).mock(side_effect=respond)
    shared = RunsStream({"workflow": WF_ID, "poll_interval": 5}, acked=False)
    with caplog.at_level(logging.ERROR):
        assert len(await _looks(shared, 1)) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3 and all(says in e for e in errors), errors
    assert sorted(clock.sleeps)[-3:] == [120.0, 240.0, 480.0]  # slow, doubling: never a busy loop
    assert "tok-SECRET" not in "".join(errors)
