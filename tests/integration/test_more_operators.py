"""RunWorkflowOperator, InterruptRunOperator and AppsHub app runs in Airflow, deferred and not."""

from __future__ import annotations

import json

import pytest

from tests.integration.airflow_harness import run_dag, task_states, xcom

DEFERRABLE = pytest.mark.parametrize("deferrable", ["true", "false"])


@pytest.mark.integration
@DEFERRABLE
def test_run_workflow_does_the_whole_cycle(pseven_connection, monkeypatch, tmp_path, deferrable):
    monkeypatch.setenv("PSEVEN_IT_OUTPUT", str(tmp_path))
    monkeypatch.setenv("PSEVEN_IT_DEFERRABLE", deferrable)
    (tmp_path / "input.txt").write_text("a\nb\n")

    dag_run = run_dag("it_more.py", "it_run_workflow")

    assert task_states(dag_run) == {"cycle": "success"}
    results = xcom(dag_run, "cycle")
    assert results["MyFirstParameter"] == "one task" and results["InputLineCount"] == 2
    assert results["SecretLength"] == len("it-secret")
    assert json.loads((tmp_path / "results.json").read_text())["MyResult"] == results["MyResult"]
    assert "FINISHED" in (tmp_path / "run.log").read_text()
    run = xcom(dag_run, "cycle", key="pseven_run")
    server = pseven_connection
    assert server.state.deploy_count() == 1 and server.state.start_count(run["run_id"]) == 1
    assert server.state.event_count("delete", run_id=run["run_id"]) == 1  # delete_after


@pytest.mark.integration
@DEFERRABLE
def test_interrupt_stops_a_running_run(pseven_connection, monkeypatch, deferrable):
    monkeypatch.setenv("PSEVEN_IT_DEFERRABLE", deferrable)

    dag_run = run_dag("it_more.py", "it_interrupt")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert xcom(dag_run, "interrupt") == "INTERRUPTED"


@pytest.mark.integration
@DEFERRABLE
def test_app_run_with_personal_resources(pseven_connection, monkeypatch, deferrable):
    monkeypatch.setenv("PSEVEN_IT_DEFERRABLE", deferrable)
    world = pseven_connection.state
    deployed_runs = []
    original_deploy = world.deploy

    def spy(*args, **kwargs):
        run = original_deploy(*args, **kwargs)
        deployed_runs.append((run.kind, run.personal))
        return run

    monkeypatch.setattr(world, "deploy", spy)

    dag_run = run_dag("it_more.py", "it_app_run")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    deployed = xcom(dag_run, "deploy")
    assert "app_id" in deployed and "workflow_id" not in deployed
    assert xcom(dag_run, "results")["MyFirstParameter"] == "from an app run"
    assert deployed_runs == [("app", True)]
