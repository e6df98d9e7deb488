"""Integration DAGs: the whole cycle in one task, interrupting a run, and AppsHub app runs."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    GetRunResultsOperator,
    InterruptRunOperator,
    RunWorkflowOperator,
    StartRunOperator,
)
from airflow_provider_pseven.sensors import RunStateSensor

OUT = os.environ.get("PSEVEN_IT_OUTPUT", "/tmp/pseven-it-output")
DEFERRABLE = os.environ.get("PSEVEN_IT_DEFERRABLE", "true") == "true"
START = pendulum.datetime(2026, 1, 1)

with DAG("it_run_workflow", schedule=None, start_date=START, catchup=False) as run_workflow_dag:
    RunWorkflowOperator(
        task_id="cycle",
        workflow="ToyWorkflow",
        parameters={"MyFirstParameter": "one task", "MySecret": "it-secret"},
        files=[os.path.join(OUT, "input.txt")],
        upload_destination="inputs",
        downloads={"results.json": OUT + "/", ".p7.log.txt": os.path.join(OUT, "run.log")},
        delete_after=True,
        deferrable=DEFERRABLE,
        poll_interval=0.2,
    )

with DAG("it_interrupt", schedule=None, start_date=START, catchup=False) as interrupt_dag:
    deploy = DeployRunOperator(
        task_id="deploy", workflow="Slow", parameters={"duration": 60.0}, poll_interval=0.2
    )
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    interrupt = InterruptRunOperator(task_id="interrupt", deferrable=DEFERRABLE, poll_interval=0.2, **ids)
    delete = DeleteRunOperator(task_id="delete", **ids)
    deploy >> start >> interrupt >> delete

with DAG("it_app_run", schedule=None, start_date=START, catchup=False) as app_dag:
    deploy = DeployRunOperator(
        task_id="deploy",
        app="ToyApp",
        personal=True,
        parameters={"MyFirstParameter": "from an app run"},
        deferrable=DEFERRABLE,
        poll_interval=0.2,
    )
    ids = {"app_id": deploy.output["app_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    wait = RunStateSensor(task_id="wait", deferrable=DEFERRABLE, poll_interval=0.2, **ids)
    results = GetRunResultsOperator(task_id="results", **ids)
    delete = DeleteRunOperator(task_id="delete", **ids)
    deploy >> start >> wait >> results >> delete

with DAG("it_failing_run", schedule=None, start_date=START, catchup=False) as failing_dag:
    # A run that fails: the task fails with the run's state and the run log's tail in its log.
    RunWorkflowOperator(
        task_id="cycle",
        workflow="Failing",
        parameters={"Reason": os.environ.get("PSEVEN_IT_FAILURE_REASON", "the solver diverged")},
        delete_after=True,
        deferrable=DEFERRABLE,
        poll_interval=0.2,
    )
