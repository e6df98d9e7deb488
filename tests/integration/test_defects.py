"""One test per defect a guide-literal server (issue 11) and a first-time user (issue 16) exposed.

Each runs the DAG of tests/integration/dags/it_defects.py that failed before the fix, against the
emulator over loopback HTTP. Tests that do not name their variants run under "strictest" and
"lenient" (see conftest.py); those that do are about one open point of the guide.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_pseven import compat
from airflow_provider_pseven.emulator.states import STOPPED
from tests.integration.airflow_harness import load_dag, run_dag, task_states, xcom

SECRET = os.environ["PSEVEN_IT_SECRET"]
TOY_ID = "130d943e100e46e0b5da490ac005b70e"
TOY_APP_ID = "c53461be10b84975a4a6ecb755cfbe00"
pytestmark = pytest.mark.integration


@pytest.fixture
def output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PSEVEN_IT_OUTPUT", str(tmp_path))
    return tmp_path


def live_runs(server: Any) -> list[Any]:
    """Runs the emulator still has (a deleted run is gone once its delete window is over)."""
    world = server.state
    with world.lock:
        return [run for run in world.runs.values() if run.delete_at is None]


def exception_text(record: dict[str, Any]) -> str:
    """The exception a failure callback saw. Airflow 3.2's ``dag.test()`` runs the task in process
    without putting the exception into the callbacks' context, and 3.1.6's does the same for a task
    without retries (3.3 always gives it, and so does 3.1's and 3.2's task runner in a deployment),
    so there the rest of the test has passed and this part skips."""
    if record["exception"] == "None" and compat.AIRFLOW_VERSION[:2] in ((3, 1), (3, 2)):
        pytest.skip("this Airflow's dag.test() gave the failure callback no exception (3.3's does)")
    return str(record["exception"])


def failures(output: Path, dag_id: str, task_id: str) -> list[dict[str, Any]]:
    """What the failure callback saw, one record per failed try, in try order."""
    found = sorted(output.glob(f"failure-{dag_id}-{task_id}-*.json"))
    return [json.loads(path.read_text()) for path in found]


# --- issue 11 ------------------------------------------------------------------------------------


@pytest.mark.pseven_emulator(variants="guide")
def test_a_secret_set_at_deploy_survives_a_later_patch_on_a_guide_literal_server(
    pseven_connection: Any,
) -> None:
    """Defect 1: the client knew Secrets only by an invented type marker, so the deploy failed
    ("did not apply the values of MySecret"), and a later PATCH echoed "" back, resetting it."""
    dag_run = run_dag("it_defects.py", "it_secret_then_patch")
    assert task_states(dag_run) == {"deploy": "success", "patch": "success", "start": "success"}
    results = xcom(dag_run, "start")
    assert results["SecretLength"] == len(SECRET)  # the workflow received the Secret
    assert results["MySecondParameter"] == 7
    assert SECRET not in json.dumps([xcom(dag_run, t) for t in ("deploy", "patch", "start")])


@pytest.mark.pseven_emulator(variants="guide,partial_patch=refused")
def test_a_server_that_needs_every_parameter_gets_a_clear_error_not_a_reset_secret(
    pseven_connection: Any, output: Path
) -> None:
    """Two open points in conflict: the server wants full PATCHes, and MySecret reads "" (set). The
    PATCH task fails saying what to do; the Secret keeps its value."""
    dag_run = run_dag("it_defects.py", "it_secret_then_patch")
    assert task_states(dag_run)["patch"] == "failed"
    (run,) = pseven_connection.state.runs.values()
    secret = next(p for p in run.params if p.name == "MySecret")
    assert (secret.is_set, secret.data) == (True, SECRET)


# --- issue 21 ------------------------------------------------------------------------------------


@pytest.mark.pseven_emulator(variants="guide,patch_omitted=reset")
def test_a_server_replacing_the_parameter_list_cannot_reset_a_secret_silently(
    pseven_connection: Any, output: Path
) -> None:
    """Item 3: the PATCH of MySecondParameter leaves the set Secret out (it reads "", so it is never
    echoed); a server whose PATCH replaces the whole list resets it. Every parameter is checked
    after the PATCH, so the task fails naming it, and the run is never started without it."""
    dag_run = run_dag("it_defects.py", "it_secret_then_patch")
    assert task_states(dag_run) == {"deploy": "success", "patch": "failed", "start": "upstream_failed"}
    (run,) = pseven_connection.state.runs.values()
    assert (run.state, run.started) == ("CONFIGURATION", False)
    (record,) = failures(output, "it_secret_then_patch", "patch")
    message = exception_text(record)
    assert f"Run {run.id}: the PATCH changed parameters it did not set: MySecret" in message
    assert "its value is lost" in message and "The run was not started" in message
    assert "Give MySecret in parameters too" in message
    assert SECRET not in message


@pytest.mark.pseven_emulator(variants="guide,value_style=typed,patch_metainfo=required")
def test_a_server_that_needs_the_metainformation_back_takes_the_patch(pseven_connection: Any) -> None:
    """Item 3: value objects go back as read, ``data`` changed, so a server that refuses a value
    without its ``type`` takes every PATCH (at deploy and later)."""
    dag_run = run_dag("it_defects.py", "it_secret_then_patch")
    assert task_states(dag_run) == {"deploy": "success", "patch": "success", "start": "success"}
    assert xcom(dag_run, "start")["SecretLength"] == len(SECRET)


def test_a_pinned_app_version_runs_under_the_plain_id(
    pseven_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 2: under both presets (strictest serves app runs only under the plain id), a pin of
    the current version deploys, waits (deferred) and deletes under ``apps/{id}/runs/``."""
    monkeypatch.setenv("PSEVEN_IT_APP", f"{TOY_APP_ID}@1")
    dag_run = run_dag("it_defects.py", "it_pinned_app")
    assert set(task_states(dag_run).values()) == {"success"}
    assert xcom(dag_run, "deploy")["app_id"] == TOY_APP_ID
    assert pseven_connection.state.deploy_count() == 1
    run_requests = [entry.path for entry in pseven_connection.requests.entries(path_contains="/runs/")]
    assert len(run_requests) >= 5  # deploy, its waits, start, the sensor's polls, delete
    assert all(f"/apps/{TOY_APP_ID}/runs/" in path for path in run_requests), run_requests


def test_a_pinned_app_version_that_is_not_current_fails_naming_the_current_one(
    pseven_connection: Any, monkeypatch: pytest.MonkeyPatch, output: Path
) -> None:
    monkeypatch.setenv("PSEVEN_IT_APP", f"{TOY_APP_ID}@2")
    dag_run = run_dag("it_defects.py", "it_pinned_app")
    assert task_states(dag_run)["deploy"] == "failed"
    assert pseven_connection.state.deploy_count() == 0  # nothing deployed
    (record,) = failures(output, "it_pinned_app", "deploy")
    message = exception_text(record)
    assert f"pinned as {TOY_APP_ID}@2" in message
    assert "current (default) version: version 1 (READY)" in message


def test_a_sensor_takes_poke_interval(pseven_connection: Any) -> None:
    """Defect 2: RunStateSensor(poke_interval=...) failed at DAG parse ("multiple values")."""
    dag = load_dag("it_defects.py", "it_sensor_poke_interval")
    assert dag.get_task("wait").poke_interval == 0.1
    dag_run = run_dag("it_defects.py", "it_sensor_poke_interval")
    assert task_states(dag_run) == {"deploy": "success", "start": "success", "wait": "success"}


@pytest.mark.pseven_emulator(variants="guide", start_delay=20.0)
def test_a_message_pushed_right_after_the_start_waits_for_running(pseven_connection: Any) -> None:
    """Defect 3: the push met the run in QUEUED_TO_RUN (2 s here) and failed on its state."""
    dag_run = run_dag("it_defects.py", "it_push_after_start")
    assert set(task_states(dag_run).values()) == {"success"}
    assert (xcom(dag_run, "ready"), xcom(dag_run, "reply")) == ("ready", "HELLO")
    pushes = pseven_connection.requests.entries(method="POST", path_suffix="/message_push/")
    assert [entry.status for entry in pushes] == [202]  # sent once, when the run was RUNNING


@pytest.mark.parametrize("dag_id", ["it_clear_run_workflow", "it_clear_deploy"])
def test_running_a_dag_run_again_runs_its_tasks_anew(pseven_connection: Any, dag_id: str) -> None:
    """Defect 4, by run name: a task found "its" run by the default name, the same for every try,
    so running the same DAG run again returned the old results or adopted the old run. (dag.test()
    for the same logical date replaces the DAG run, so the task state store starts empty here;
    Airflow's own clear, which keeps the store, is tested in tests/e2e/test_real_airflow.py.)"""
    when = pendulum.datetime(2026, 3, 1, tz="UTC")
    first = run_dag("it_defects.py", dag_id, logical_date=when, run_after=when)
    second = run_dag("it_defects.py", dag_id, logical_date=when, run_after=when)
    assert first.run_id == second.run_id
    assert set(task_states(second).values()) == {"success"}
    assert pseven_connection.state.deploy_count(TOY_ID) == 2
    assert len({run.name for run in pseven_connection.state.runs.values()}) == 2  # a name per try


@pytest.mark.pseven_emulator(variants="guide", start_delay=20.0)
def test_a_timeout_while_queued_waits_for_running_then_interrupts(pseven_connection: Any) -> None:
    """The guide interrupts only RUNNING runs: a timeout that meets QUEUED_TO_RUN (2 s here) waits
    for RUNNING and interrupts then, instead of sending an interrupt the server refuses."""
    dag_run = run_dag("it_defects.py", "it_timeout_while_queued")
    assert task_states(dag_run) == {"deploy": "success", "start": "failed"}
    (run,) = pseven_connection.state.runs.values()
    assert run.state == "INTERRUPTED"
    interrupts = pseven_connection.requests.entries(method="POST", path_suffix="/interrupt/")
    assert [entry.status for entry in interrupts] == [200]


# --- issue 16 ------------------------------------------------------------------------------------


def test_a_typo_in_parameters_leaves_no_run_behind(pseven_connection: Any) -> None:
    """Item 1: five mapped deploys, each failing its set-up on a typo: 0 runs left afterwards."""
    dag_run = run_dag("it_defects.py", "it_typo_orphans")
    assert str(dag_run.state) == "failed"
    assert pseven_connection.state.deploy_count(TOY_ID) == 5  # one try each: a typo is not retried
    assert live_runs(pseven_connection) == []


def test_a_failed_run_is_retried_and_the_exception_says_why(pseven_connection: Any, output: Path) -> None:
    """Items 2 and 3: RunWorkflowOperator's retry deploys a new run, and failure callbacks see the
    reason from the run log, not just "ended FAILED"."""
    dag_run = run_dag("it_defects.py", "it_failed_run_retried")
    assert task_states(dag_run) == {"cycle": "failed"}
    assert pseven_connection.state.deploy_count() == 2  # one run per try
    assert live_runs(pseven_connection) == []  # delete_after applied to each failed run
    seen = failures(output, "it_failed_run_retried", "cycle")
    assert seen, "the failure callback did not run"
    message = exception_text(seen[-1])
    assert "ended FAILED" in message
    assert "Solver diverged: negative Jacobian in element 42" in message


def test_a_step_of_a_failed_run_fails_at_once_saying_how_to_rerun(
    pseven_connection: Any, output: Path
) -> None:
    dag_run = run_dag("it_defects.py", "it_step_of_a_failed_run")
    assert task_states(dag_run) == {"deploy": "success", "start": "failed"}
    start = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "start")
    assert start.try_number == 1  # retries=2, but a retry cannot restart a FAILED run
    run_states = {run.state for run in pseven_connection.state.runs.values()}
    assert run_states <= set(STOPPED)
    (record,) = failures(output, "it_step_of_a_failed_run", "start")
    message = exception_text(record)
    assert "Solver diverged" in message
    assert "clear this DAG run from the task that deploys the run" in message
