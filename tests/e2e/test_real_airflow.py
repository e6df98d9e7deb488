"""Airflow as separate real processes: the sensor's trigger runs in the triggerer process, and a
user marking a deferred task failed interrupts its pSeven run (trigger on_kill, Airflow 3.3)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from airflow_provider_pseven.emulator import EmulatorServer
from tests.e2e.cluster import AirflowCluster
from tests.sweep_values import SWEEP_SECRET, SWEEP_TOKEN, leaks

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[AirflowCluster, EmulatorServer]]:
    home = Path(tempfile.mkdtemp(prefix="pseven-e2e-"))
    with EmulatorServer(time_scale=0.2, token=SWEEP_TOKEN) as emulator:
        env = {
            "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json(),
            "AIRFLOW_VAR_PSEVEN_MY_SECRET": SWEEP_SECRET,
        }
        airflow = AirflowCluster(home, DAGS, env)
        try:
            airflow.start()
            yield airflow, emulator
        finally:
            airflow.stop()
            if not os.environ.get("PSEVEN_E2E_KEEP"):
                shutil.rmtree(home, ignore_errors=True)


@pytest.mark.e2e
def test_sensor_trigger_runs_in_the_triggerer(cluster):
    airflow, emulator = cluster
    run_id = airflow.trigger("e2e_sensor")

    state = airflow.wait_for_run("e2e_sensor", run_id)

    assert state == "success", airflow.log("scheduler")[-4000:]
    # The triggerer process writes the trigger's own log beside the task's: our state polling ran
    # there, and fired the event that resumed the sensor.
    trigger_log = airflow.trigger_log("e2e_sensor", "wait")
    assert "Trigger fired event" in trigger_log
    assert "is FINISHED" in trigger_log and "'status': 'success'" in trigger_log
    assert "blocked for" not in airflow.log("triggerer"), (
        "a pSeven trigger blocked the triggerer's event loop"
    )
    assert xcom_value(airflow, "e2e_sensor", run_id, "results")["SecretLength"] == len(SWEEP_SECRET)
    assert emulator.state.deploy_count("130d943e100e46e0b5da490ac005b70e") == 1


@pytest.mark.e2e
def test_marking_a_deferred_task_failed_interrupts_the_run(cluster):
    airflow, emulator = cluster
    run_id = airflow.trigger("e2e_cancel")
    airflow.wait(
        lambda: airflow.task_state("e2e_cancel", run_id, "start") == "deferred", 180, "start deferring"
    )
    deployed = airflow.api(
        "GET", f"dags/e2e_cancel/dagRuns/{run_id}/taskInstances/deploy/xcomEntries/return_value"
    )
    value = deployed["value"]
    summary = value if isinstance(value, dict) else json.loads(value)
    run_url = f"{emulator.api_url}workflows/{summary['workflow_id']}/runs/{summary['run_id']}/"

    def pseven_state() -> str:
        return str(requests.get(run_url, headers=emulator.auth_header, timeout=10).json()["state"])

    # The run may still be QUEUED_TO_RUN when the task defers; the trigger waits that out. Airflow
    # calls on_kill only for a trigger the triggerer is running: wait until it has seen RUNNING.
    airflow.wait(lambda: pseven_state() == "RUNNING", 60, "the pSeven run to be RUNNING")
    airflow.wait(
        lambda: "is RUNNING" in airflow.trigger_log("e2e_cancel", "start"), 120, "the trigger polling"
    )

    airflow.api(
        "PATCH", f"dags/e2e_cancel/dagRuns/{run_id}/taskInstances/start", json={"new_state": "failed"}
    )

    airflow.wait(lambda: pseven_state() == "INTERRUPTED", 90, "the pSeven run being interrupted")
    logs = airflow.trigger_log("e2e_cancel", "start") + airflow.log("triggerer")
    assert "invoking on_kill" in logs, logs[-4000:]
    assert airflow.task_state("e2e_cancel", run_id, "start") == "failed"


@pytest.mark.e2e
def test_clearing_successful_tasks_runs_them_anew(cluster):
    """Issue 11, defect 4, through Airflow's own clear: the task state store outlives a successful
    try ([state_store] clear_on_success is False), so a cleared task used to adopt its old run,
    return its old results, or never publish again."""
    airflow, emulator = cluster
    world = emulator.state
    deploys, publishes = world.deploy_count(), world.event_count("publish")
    run_id = airflow.trigger("e2e_clear")
    assert airflow.wait_for_run("e2e_clear", run_id) == "success", airflow.log("scheduler")[-4000:]
    first = {task: xcom_value(airflow, "e2e_clear", run_id, task) for task in ("cycle", "deploy", "publish")}

    airflow.api(
        "POST",
        "dags/e2e_clear/clearTaskInstances",
        json={"dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True},
    )
    airflow.wait(
        lambda: airflow.run_state("e2e_clear", run_id) in ("queued", "running"),
        60,
        "the DAG run to be cleared",
    )
    assert airflow.wait_for_run("e2e_clear", run_id) == "success", airflow.log("scheduler")[-4000:]
    second = {task: xcom_value(airflow, "e2e_clear", run_id, task) for task in ("cycle", "deploy", "publish")}

    assert world.deploy_count() - deploys == 4  # RunWorkflowOperator and DeployRunOperator, twice each
    assert world.event_count("publish") - publishes == 2
    assert second["deploy"]["run_id"] != first["deploy"]["run_id"]
    assert second["publish"]["version"] == first["publish"]["version"] + 1


@pytest.mark.e2e
def test_no_token_or_secret_in_any_trace_of_the_processes(cluster):
    """Run last in this module: every component log and task log file of the real processes."""
    airflow, _ = cluster
    texts = {component: airflow.log(component) for component in AirflowCluster.COMPONENTS}
    texts.update(
        {str(p): p.read_text(errors="replace") for p in (airflow.home / "logs").rglob("*") if p.is_file()}
    )
    assert len(texts) > len(AirflowCluster.COMPONENTS), "no task log files were found"
    for where, text in texts.items():
        assert not leaks(text), f"{leaks(text)} leaked into {where}"


def xcom_value(airflow, dag_id, run_id, task_id):
    entry = airflow.api(
        "GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
    )
    value = entry["value"]
    return value if isinstance(value, dict) else json.loads(value)
