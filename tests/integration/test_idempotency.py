"""A retried task never deploys or starts a pSeven run twice (emulator request log and world events)."""

from __future__ import annotations

import pytest

from tests.integration.airflow_harness import run_dag, task_states, xcom

TOY_ID = "130d943e100e46e0b5da490ac005b70e"


def _tries(dag_run, task_id):
    return next(ti.try_number for ti in dag_run.get_task_instances() if ti.task_id == task_id)


@pytest.mark.integration
@pytest.mark.pseven_emulator(time_scale=1.0)
def test_lost_deploy_answer_and_retries_leave_one_run(pseven_connection):
    server = pseven_connection
    server.faults.set(drop_after_fraction=1.0, methods=["POST"], paths=[r"/runs/$"], max_faults=1)

    dag_run = run_dag("it_retries.py", "it_deploy_retry")

    assert task_states(dag_run) == {"deploy": "success"}
    assert _tries(dag_run, "deploy") > 1, "the first try was meant to time out and be retried"
    deploys = server.requests.entries(method="POST", path_suffix="/runs/")
    assert len(deploys) == 1 and deploys[0].fault == "drop_after"
    assert server.state.deploy_count(TOY_ID) == 1
    assert xcom(dag_run, "deploy")["state"] == "CONFIGURATION"


@pytest.mark.integration
@pytest.mark.pseven_emulator(time_scale=1.0)
def test_retried_start_starts_once(pseven_connection):
    server = pseven_connection

    dag_run = run_dag("it_retries.py", "it_start_retry")

    assert task_states(dag_run) == {"deploy": "success", "start": "success"}
    assert _tries(dag_run, "start") > 1, "the first try was meant to time out and be retried"
    run_id = xcom(dag_run, "deploy")["run_id"]
    assert server.state.start_count(run_id) == 1
    assert len(server.requests.entries(method="POST", path_suffix="/run/")) == 1
    assert xcom(dag_run, "start")["elapsed"] >= 1.0  # the retry waited for the same run to finish


@pytest.mark.integration
def test_a_mistake_in_the_dag_is_not_retried(pseven_connection):
    dag_run = run_dag("it_retries.py", "it_no_retry_for_mistakes")

    assert task_states(dag_run) == {"deploy": "failed"}
    assert _tries(dag_run, "deploy") == 1
    assert pseven_connection.state.deploy_count() == 0
