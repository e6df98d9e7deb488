"""RunSweepOperator and SweepTrigger against the emulator over real loopback HTTP."""

from __future__ import annotations

import csv
import importlib.util
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pseven.client import RunKind
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.operators import RunSweepOperator
from tests.integration.airflow_harness import run_dag, task_states, xcom

DISK = "/Users/1/DiskModel.p7wf"
FAILING = "/Users/1/Failing.p7wf"


def _context(task_id: str = "sweep", dag_id: str = "it_sweep") -> dict[str, Any]:
    ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id="manual__1", map_index=-1, try_number=1)
    return {"ti": ti}


def _points(n: int) -> list[dict[str, Any]]:
    return [{"OuterRadius": 0.15 + 0.01 * i, "Count": 20, "Sampler/Seed": i + 1} for i in range(n)]


def _runs_left(workflow: str) -> list[Any]:
    client = PsevenHook().client
    return client.list_runs(RunKind.WORKFLOW, client.resolve_workflow(workflow).id)


def _rows(path: Any) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.integration
def test_a_small_sweep_runs_every_point_once(pseven_connection, tmp_path):
    server = pseven_connection
    op = RunSweepOperator(
        task_id="sweep",
        workflow=DISK,
        parameter_sets=_points(6),
        results_destination=str(tmp_path / "out"),
        max_active_runs=3,
        poll_interval=0.2,
        objective="BestMass",
        deferrable=False,
    )
    summary = op.execute(_context())

    assert summary["points"] == 6 and summary["finished"] == 6 and summary["failed"] == 0
    rows = _rows(summary["table"])
    assert sorted(int(r["point"]) for r in rows) == list(range(6))
    assert all(r["state"] == "FINISHED" and r["run_id"] and r["attempts"] == "1" for r in rows)
    assert {float(r["OuterRadius"]) for r in rows} == {0.15 + 0.01 * i for i in range(6)}
    assert summary["best"]["results"]["BestMass"] == min(
        float(r["result:BestMass"]) for r in rows if r["result:BestMass"]
    )
    assert server.state.deploy_count() == 6
    assert not (tmp_path / "out" / "_sweep").exists()
    if importlib.util.find_spec("pyarrow"):
        import pyarrow.parquet as pq

        assert pq.read_table(summary["parquet"]).num_rows == 6
    # keep_runs="failed": finished runs were deleted after their rows were stored
    assert server.state.event_count("delete") == 6


@pytest.mark.integration
def test_a_deferred_sweep_in_a_dag_takes_its_points_from_xcom(pseven_connection, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEVEN_IT_SWEEP_OUT", str(tmp_path))
    dag_run = run_dag("it_sweep.py", "it_sweep")

    assert task_states(dag_run) == {"design": "success", "sweep": "success"}
    summary = xcom(dag_run, "sweep")
    assert summary["finished"] == 5 and summary["failed"] == 0
    assert summary["table"].startswith(str(tmp_path))
    assert len(_rows(summary["table"])) == 5
    assert summary["best"]["results"]["BestMass"] is not None
    assert pseven_connection.state.deploy_count() == 5


def _sweep(tmp_path: Any, **kwargs: Any) -> RunSweepOperator:
    kwargs.setdefault("workflow", DISK)
    kwargs.setdefault("poll_interval", 0.2)
    kwargs.setdefault("deferrable", False)
    return RunSweepOperator(task_id="sweep", results_destination=str(tmp_path / "out"), **kwargs)


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_failed_points_are_retried_as_new_runs_and_reported(pseven_connection, tmp_path, caplog, capfd):
    server = pseven_connection
    points = [{"Reason": f"Solver diverged at point {i}"} for i in range(2)]
    op = _sweep(tmp_path, workflow=FAILING, parameter_sets=points, retries_per_point=1, max_failed_points=2)

    summary = op.execute(_context())

    assert summary["failed"] == 2 and summary["finished"] == 0 and summary["failed_points"] == [0, 1]
    rows = {int(r["point"]): r for r in _rows(summary["table"])}
    for i in range(2):
        assert rows[i]["state"] == "FAILED" and rows[i]["attempts"] == "2"
        assert f"Solver diverged at point {i}" in rows[i]["failure_reason"]
    assert server.state.deploy_count() == 4  # one new run per retry, never the same attempt twice
    assert server.state.event_count("delete") == 0  # keep_runs="failed" keeps failed runs
    logged = caplog.text + "".join(capfd.readouterr())
    assert "Point 1 failed (FAILED" in logged and "Solver diverged at point 1" in logged


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_too_many_failures_stop_the_sweep(pseven_connection, tmp_path):
    from airflow_provider_pseven.compat import AirflowFailException

    points = [{"Reason": "bad mesh"}] * 4
    op = _sweep(tmp_path, workflow=FAILING, parameter_sets=points, max_active_runs=1, max_failed_points=0.25)

    with pytest.raises(AirflowFailException, match="too many points failed"):
        op.execute(_context())
    # 25% of 4 points = 1 failure allowed: the second failure stops the sweep, nothing else starts.
    assert pseven_connection.state.deploy_count() == 2
    assert len(_rows(tmp_path / "out" / "results.csv")) == 2


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_bad_tables_fail_before_a_second_run_is_deployed(pseven_connection, tmp_path):
    from airflow_provider_pseven.compat import AirflowFailException

    server = pseven_connection
    with pytest.raises(AirflowFailException, match="empty"):
        _sweep(tmp_path, parameter_sets=[]).execute(_context())
    assert server.state.deploy_count() == 0

    table = tmp_path / "doe.csv"
    table.write_text("OuterRadius,Speed\n0.2,900\n0.3\n")
    with pytest.raises(AirflowFailException, match="CSV line 3 has 1 cells but the header has 2"):
        _sweep(tmp_path, parameter_sets=str(table)).execute(_context())
    assert server.state.deploy_count() == 0

    table.write_text("OuterRadius,Sped\n0.2,900\n0.3,1000\n")
    with pytest.raises(AirflowFailException) as failed:
        _sweep(tmp_path, parameter_sets=str(table)).execute(_context())
    assert "column 'Sped' (first set in row 1)" in str(failed.value)
    # The first point's run showed the workflow's parameters; it was deleted, and nothing else deployed.
    assert server.state.deploy_count() == 1
    assert server.state.event_count("delete") == 1


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_a_killed_trigger_resumes_without_deploying_a_point_twice(pseven_connection, tmp_path):
    import asyncio

    from airflow_provider_pseven.compat import TaskDeferred
    from airflow_provider_pseven.triggers import SweepTrigger

    server = pseven_connection
    points = [{"duration": 20.0 + 2 * i} for i in range(6)]  # 2 to 3 s at the time scale of 0.1
    op = _sweep(
        tmp_path, workflow="/Users/1/Slow.p7wf", parameter_sets=points, max_active_runs=3, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(_context())
    kwargs = deferred.value.trigger.serialize()[1]

    async def first_event(trigger: SweepTrigger, seconds: float | None) -> Any:
        async def go() -> Any:
            async for event in trigger.run():
                return event.payload

        return await asyncio.wait_for(go(), seconds)

    # The triggerer dies while three runs are live (some may have ended, unstored or stored).
    with pytest.raises(TimeoutError):
        asyncio.run(first_event(SweepTrigger(**kwargs), 1.5))
    deployed_before = server.state.deploy_count()
    assert 3 <= deployed_before < 6

    # A new triggerer (or a retried task: execute again finds the manifest) picks the sweep up.
    with pytest.raises(TaskDeferred) as again:
        _sweep(tmp_path, workflow="/Users/1/Slow.p7wf", parameter_sets=points, deferrable=True).execute(
            _context()
        )
    assert again.value.trigger.serialize()[1]["prefix"] == kwargs["prefix"]
    event = asyncio.run(first_event(SweepTrigger(**kwargs), 60))

    summary = op.execute_complete(_context(), event)
    assert summary["finished"] == 6
    assert sorted(int(r["point"]) for r in _rows(summary["table"])) == list(range(6))
    assert server.state.deploy_count() == 6  # every point deployed exactly once
    assert server.state.start_count() == 6


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_killing_the_task_stops_every_live_run(pseven_connection, tmp_path, caplog, capfd):
    import asyncio

    from airflow_provider_pseven.compat import TaskDeferred

    server = pseven_connection
    points = [{"duration": 30.0}] * 3
    op = _sweep(tmp_path, workflow="/Users/1/Slow.p7wf", parameter_sets=points, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(_context())
    trigger = deferred.value.trigger

    async def run_then_kill() -> None:
        task = asyncio.create_task(anext(trigger.run()))
        for _ in range(100):
            await asyncio.sleep(0.1)
            if server.state.event_count("start") == 3 and _all_running(server):
                break
        task.cancel()
        await trigger.on_kill()

    asyncio.run(run_then_kill())
    assert server.state.event_count("interrupt") == 3
    logged = caplog.text + "".join(capfd.readouterr())
    assert logged.count(": interrupted") == 3 and "stopped 3 live runs" in logged


def _all_running(server: Any) -> bool:
    return [r.state_text for r in _runs_left("/Users/1/Slow.p7wf")] == ["RUNNING"] * 3
