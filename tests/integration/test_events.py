"""Issue 12 against the emulator over real HTTP: RunEventTrigger sees runs an engineer starts through
the REST API, the example events DAG post-processes them, and outlet events carry the run.

The watcher itself needs a triggerer: tests/e2e/test_events_e2e.py runs it in real processes.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_pseven.compat import HAS_EVENT_WATCHERS
from tests.events_support import start_run, wait_finished, workflow_id
from tests.integration.airflow_harness import run_dag, task_states, xcom
from tests.sweep_values import SWEEP_SECRET, leaks

pytestmark = pytest.mark.skipif(
    not HAS_EVENT_WATCHERS,
    reason="needs Airflow 3.3+: RunEventTrigger and the example events DAG (event watchers, shared streams, the asset state store); "
    "older Airflow refuses RunEventTrigger naming the version (tests/compat/test_compat.py)",
)


async def _events(trigger, count: int, timeout: float = 60.0) -> list[dict]:
    """The runs of the trigger's events, read with ``pseven_runs`` as a DAG would."""
    from airflow_provider_pseven import pseven_runs

    async def take() -> list[dict]:
        found: list[dict] = []
        async for event in trigger.run():
            found += pseven_runs([{"extra": {"from_trigger": True, "payload": event.payload}}])
            if len(found) >= count:
                return found
        return found

    return await asyncio.wait_for(take(), timeout)


@pytest.mark.integration
async def test_the_trigger_reports_each_run_an_engineer_starts_once(pseven_connection):
    from airflow_provider_pseven.hooks.async_clients import forget_loop_clients
    from airflow_provider_pseven.triggers import RunEventTrigger

    server = pseven_connection
    wid = workflow_id(server)
    before = start_run(server)
    wait_finished(server, wid, before)  # ended before the watcher started: not reported
    trigger = RunEventTrigger(workflow="/Users/1/ToyWorkflow.p7wf", poll_interval=0.2)

    async def engineer() -> list[str]:
        await asyncio.sleep(0.5)
        return [await asyncio.to_thread(start_run, server) for _ in range(2)]

    try:
        started, events = await asyncio.gather(engineer(), _events(trigger, 2))
    finally:
        clients = forget_loop_clients()
        if clients is not None:
            await clients.aclose()
    assert sorted(e["run_id"] for e in events) == sorted(started)
    assert before not in {e["run_id"] for e in events}
    for event in events:
        assert event["workflow_id"] == wid and event["state"] == "FINISHED"
        assert event["results"]["MyResult"] == 99
        assert set(event) == {"workflow_id", "run_id", "name", "path", "url", "state", "results"}
    # the watcher's polls are one runs-list request each, at most one per interval
    lists = [e for e in server.requests.entries(method="GET") if e.path.endswith(f"workflows/{wid}/runs/")]
    span = lists[-1].time - lists[0].time
    assert len(lists) <= span / 0.2 + 2, (len(lists), span)


@pytest.mark.integration
def test_example_events_dag_post_processes_each_run(pseven_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("PSEVEN_DEMO_OUTPUT", str(tmp_path))
    server = pseven_connection
    wid = workflow_id(server)
    runs = []
    for _ in range(2):
        run_id = start_run(server)
        wait_finished(server, wid, run_id)
        runs.append({"workflow_id": wid, "run_id": run_id, "state": "FINISHED", "results": {"MyResult": 99}})

    dag_run = run_dag("example_pseven_events.py", "example_pseven_events", run_conf={"runs": runs})

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    out = tmp_path / "example_pseven_events"
    for run in runs:
        assert json.loads((out / "runs" / run["run_id"] / "results.json").read_text())["MyResult"] == 99
    (processed,) = (out / "processed").iterdir()  # one file per DAG run: object storage has no append
    lines = [json.loads(line) for line in processed.read_text().splitlines()]
    assert [line["run_id"] for line in lines] == [r["run_id"] for r in runs]


def _asset_events(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
        ).all()
        return [dict(row.extra) for row in rows]


@pytest.mark.integration
def test_the_download_asset_event_names_the_run_that_wrote_it(pseven_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("PSEVEN_DEMO_OUTPUT", str(tmp_path))
    dag_run = run_dag("example_pseven_events.py", "example_pseven_events_producer")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    deployed = xcom(dag_run, "deploy")
    uri = f"file://{tmp_path}/example_pseven_events/latest"
    (extra,) = [e for e in _asset_events(uri) if e.get("pseven", {}).get("run_id") == deployed["run_id"]]
    run = extra["pseven"]
    assert run["workflow_id"] == deployed["workflow_id"] and run["state"] == "FINISHED"
    assert run["results"]["MyResult"] == 99 and run["results"]["SecretLength"] == 0
    assert run["files"] == [f"{tmp_path}/example_pseven_events/latest/results.json"]
    assert (
        json.loads((tmp_path / "example_pseven_events" / "latest" / "results.json").read_text())["MyResult"]
        == 99
    )


@pytest.mark.integration
def test_run_workflow_and_results_operators_put_the_run_on_every_outlet(
    pseven_connection, tmp_path, monkeypatch
):
    monkeypatch.setenv("PSEVEN_IT_OUTPUT", str(tmp_path))
    (tmp_path / "input.csv").write_text("x\n1\n")
    dag_run = run_dag("it_outlets.py")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    cycle = xcom(dag_run, "cycle", key="pseven_run")
    deployed = xcom(dag_run, "deploy")

    def of_run(uri: str, run_id: str) -> dict:
        (extra,) = [e for e in _asset_events(uri) if e["pseven"]["run_id"] == run_id]  # one per task
        return extra["pseven"]

    for uri in ("x-it://outlets/cycle-a", "x-it://outlets/cycle-b"):
        run = of_run(uri, cycle["run_id"])
        assert run["results"]["SecretLength"] == len(SWEEP_SECRET)
        assert run["files"] == [f"{tmp_path}/results.json"]
    assert of_run("x-it://outlets/results", deployed["run_id"])["results"]["MyResult"] == 99
    assert not leaks(
        json.dumps(_asset_events("x-it://outlets/results") + _asset_events("x-it://outlets/cycle-a"))
    )
