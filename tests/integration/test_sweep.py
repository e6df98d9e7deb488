"""RunSweepOperator and SweepTrigger against the emulator over real loopback HTTP."""

from __future__ import annotations

import csv
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
