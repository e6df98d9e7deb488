"""Integration DAGs for what a guide-literal server and a first-time user exposed (issues 11, 16, 21).

Each DAG is the smallest one that failed before the fix; tests/integration/test_defects.py runs them.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    MessagePushOperator,
    PatchParametersOperator,
    RunWorkflowOperator,
    StartRunOperator,
)
from airflow_provider_pseven.sensors import MessageSensor, RunStateSensor

OUT = os.environ.get("PSEVEN_IT_OUTPUT", "/tmp/pseven-it-output")
SECRET = os.environ.get("PSEVEN_IT_SECRET", "it-secret-value")
START = pendulum.datetime(2026, 1, 1)
NO_DELAY = {"retry_delay": timedelta(seconds=0)}


def record_failure(context: Any) -> None:
    """What failure callbacks and alert e-mails get: the exception, as text, one file per try."""
    ti = context["ti"]
    path = os.path.join(OUT, f"failure-{ti.dag_id}-{ti.task_id}-{ti.map_index}-{ti.try_number}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"exception": str(context.get("exception")), "try_number": ti.try_number}, f)


# --- issue 11 ------------------------------------------------------------------------------------

with DAG(
    "it_secret_then_patch",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": record_failure},
) as secret_dag:
    # Defect 1: a Secret set at deploy, another parameter patched later. The guide marks no
    # Secret, so it must be recognised by its answer and never echoed back as "".
    deploy = DeployRunOperator(
        task_id="deploy", workflow="ToyWorkflow", parameters={"MySecret": SECRET}, poll_interval=0.1
    )
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    patch = PatchParametersOperator(task_id="patch", parameters={"MySecondParameter": 7}, **ids)
    start = StartRunOperator(task_id="start", poll_interval=0.1, **ids)
    deploy >> patch >> start

with DAG("it_sensor_poke_interval", schedule=None, start_date=START, catchup=False) as poke_dag:
    # Defect 2: poke_interval, every Airflow user's argument, failed at DAG parse.
    deploy = DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", poll_interval=0.1)
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    wait = RunStateSensor(task_id="wait", poke_interval=0.1, timeout=60, **ids)
    deploy >> start >> wait

with DAG("it_push_after_start", schedule=None, start_date=START, catchup=False) as push_dag:
    # Defect 3: right after a start the run is QUEUED_TO_RUN, and messages need RUNNING.
    deploy = DeployRunOperator(
        task_id="deploy", workflow="Chat", parameters={"Rounds": 1, "Timeout": 20.0}, poll_interval=0.1
    )
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    push = MessagePushOperator(task_id="push", message="hello", channel="chat", poll_interval=0.1, **ids)
    ready = MessageSensor(task_id="ready", channel="chat", poke_interval=0.1, timeout=60, **ids)
    reply = MessageSensor(task_id="reply", channel="chat", poke_interval=0.1, timeout=60, **ids)
    done = RunStateSensor(task_id="done", poke_interval=0.1, timeout=60, **ids)
    deploy >> start >> push >> ready >> reply >> done

# Defect 4: running a task of the same DAG run again runs it anew.
with DAG("it_clear_run_workflow", schedule=None, start_date=START, catchup=False) as clear_cycle_dag:
    RunWorkflowOperator(task_id="cycle", workflow="ToyWorkflow", poll_interval=0.1)

with DAG("it_clear_deploy", schedule=None, start_date=START, catchup=False) as clear_deploy_dag:
    DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", poll_interval=0.1)

with DAG("it_timeout_while_queued", schedule=None, start_date=START, catchup=False) as queued_dag:
    # A timeout while the run is QUEUED_TO_RUN: the interrupt waits for RUNNING (the guide allows
    # no other state), then stops the run.
    deploy = DeployRunOperator(
        task_id="deploy", workflow="Slow", parameters={"duration": 30.0}, poll_interval=0.1
    )
    StartRunOperator(
        task_id="start",
        workflow_id=deploy.output["workflow_id"],
        run_id=deploy.output["run_id"],
        timeout=0.3,
        poll_interval=0.1,
        deferrable=False,
    )

# --- issue 16 ------------------------------------------------------------------------------------

with DAG(
    "it_typo_orphans", schedule=None, start_date=START, catchup=False, default_args={"retries": 2, **NO_DELAY}
) as typo_dag:
    # Item 1: five runs deployed, each set-up failing on a typo: none may be left behind.
    DeployRunOperator.partial(task_id="deploy", workflow="ToyWorkflow", poll_interval=0.1).expand(
        parameters=[{"MySecondParamter": i} for i in range(5)]
    )

with DAG(
    "it_failed_run_retried",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"retries": 1, "on_failure_callback": record_failure, **NO_DELAY},
) as failed_run_dag:
    # Items 2 and 3: Airflow's retries rerun a failed workflow, and the exception says why.
    RunWorkflowOperator(task_id="cycle", workflow="Failing", poll_interval=0.1, delete_after=True)

with DAG(
    "it_step_of_a_failed_run",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": record_failure, **NO_DELAY},
) as step_dag:
    # Item 2: a step of a FAILED run fails at once, saying how to rerun.
    deploy = DeployRunOperator(task_id="deploy", workflow="Failing", poll_interval=0.1)
    StartRunOperator(
        task_id="start",
        workflow_id=deploy.output["workflow_id"],
        run_id=deploy.output["run_id"],
        poll_interval=0.1,
        retries=2,
    )

# --- issue 21 ------------------------------------------------------------------------------------

with DAG(
    "it_pinned_app",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": record_failure, **NO_DELAY},
) as pinned_app_dag:
    # Item 2: a pinned app version (PSEVEN_IT_APP, "id@N") deploys under the plain id, or fails
    # naming the current version; the run is then addressed, waited for and deleted there too.
    deploy = DeployRunOperator(
        task_id="deploy", app=os.environ.get("PSEVEN_IT_APP", "ToyApp"), deferrable=True, poll_interval=0.1
    )
    ids = {"app_id": deploy.output["app_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    wait = RunStateSensor(task_id="wait", deferrable=True, poll_interval=0.1, **ids)
    delete = DeleteRunOperator(task_id="delete", **ids)
    deploy >> start >> wait >> delete
