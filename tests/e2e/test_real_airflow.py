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

DAGS = Path(__file__).parent / "dags"
TOKEN = "tok-E2E-RECOGNISABLE-77"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[AirflowCluster, EmulatorServer]]:
    home = Path(tempfile.mkdtemp(prefix="pseven-e2e-"))
    with EmulatorServer(time_scale=0.2, token=TOKEN) as emulator:
        airflow = AirflowCluster(home, DAGS, {"AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json()})
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
    for component in AirflowCluster.COMPONENTS:
        assert TOKEN not in airflow.log(component)
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

    assert pseven_state() == "RUNNING"

    airflow.api(
        "PATCH", f"dags/e2e_cancel/dagRuns/{run_id}/taskInstances/start", json={"new_state": "failed"}
    )

    airflow.wait(lambda: pseven_state() == "INTERRUPTED", 90, "the pSeven run being interrupted")
    assert "invoking on_kill" in airflow.trigger_log("e2e_cancel", "start") + airflow.log("triggerer")
    assert airflow.task_state("e2e_cancel", run_id, "start") == "failed"
