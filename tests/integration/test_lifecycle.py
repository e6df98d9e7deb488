"""Every run-lifecycle operator against the emulator, inside Airflow (dag.test), deferred and not."""

from __future__ import annotations

import json

import pytest

from tests.integration.airflow_harness import run_dag, task_states, xcom


@pytest.mark.integration
@pytest.mark.parametrize("deferrable", ["true", "false"])
def test_lifecycle_dag(pseven_connection, monkeypatch, tmp_path, deferrable):
    monkeypatch.setenv("PSEVEN_IT_OUTPUT", str(tmp_path))
    monkeypatch.setenv("PSEVEN_IT_DEFERRABLE", deferrable)
    (tmp_path / "input.txt").write_text("one\ntwo\nthree\n")

    dag_run = run_dag("it_lifecycle.py")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    deployed = xcom(dag_run, "deploy")
    assert deployed["state"] == "CONFIGURATION" and len(deployed["run_id"]) == 32
    results = xcom(dag_run, "results")
    assert results["MyFirstParameter"] == "from airflow"
    assert results["InputLineCount"] == 3
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["MyResult"] == results["MyResult"]
    listing = {entry["path"] for entry in xcom(dag_run, "list")}
    assert {"results.json", "inputs", "inputs/input.txt"} <= listing
    server = pseven_connection
    assert server.state.deploy_count("130d943e100e46e0b5da490ac005b70e") == 1
