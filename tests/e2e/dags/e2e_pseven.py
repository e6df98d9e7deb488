"""End-to-end DAGs, run by a real scheduler, LocalExecutor workers and a triggerer."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import (
    DeployRunOperator,
    GetRunResultsOperator,
    PublishAppOperator,
    RunWorkflowOperator,
    StartRunOperator,
)
from airflow_provider_pseven.sensors import RunStateSensor

START = pendulum.datetime(2026, 1, 1)

with DAG("e2e_sensor", schedule=None, start_date=START, catchup=False) as sensor_dag:
    deploy = DeployRunOperator(
        task_id="deploy",
        workflow="ToyWorkflow",
        parameters={"MySecondParameter": 5, "MySecret": "{{ var.value.pseven_my_secret }}"},
    )
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    wait = RunStateSensor(task_id="wait", deferrable=True, poll_interval=1.0, **ids)
    results = GetRunResultsOperator(task_id="results", **ids)
    deploy >> start >> wait >> results

with DAG("e2e_cancel", schedule=None, start_date=START, catchup=False) as cancel_dag:
    slow = DeployRunOperator(task_id="deploy", workflow="Slow", parameters={"duration": 600.0})
    StartRunOperator(
        task_id="start",
        workflow_id=slow.output["workflow_id"],
        run_id=slow.output["run_id"],
        deferrable=True,
        poll_interval=1.0,
    )

with DAG("e2e_clear", schedule=None, start_date=START, catchup=False) as clear_dag:
    # Every operator that keeps state across tries: cleared after success, each must run anew.
    RunWorkflowOperator(task_id="cycle", workflow="ToyWorkflow", poll_interval=0.5)
    DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", poll_interval=0.5)
    PublishAppOperator(
        task_id="publish",
        workflow="ToyWorkflow",
        name="E2E cleared app",
        workspace_name="Toy apps",
        poll_interval=0.5,
    )
