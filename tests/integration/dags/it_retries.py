"""Integration DAGs for idempotent retries: a lost deploy answer, a start whose task times out."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import DeployRunOperator, StartRunOperator

ARGS = {"retries": 4, "retry_delay": timedelta(seconds=0)}

with DAG(
    "it_deploy_retry", schedule=None, start_date=pendulum.datetime(2026, 1, 1), default_args=ARGS
) as deploy_dag:
    # The deploy answer is lost (the emulator drops it after deploying) and the first tries time out
    # waiting for CONFIGURATION: every retry must reuse the one run that was deployed.
    DeployRunOperator(
        task_id="deploy", workflow="ToyWorkflow", timeout=0.15, poll_interval=0.05, deferrable=False
    )

with DAG(
    "it_start_retry", schedule=None, start_date=pendulum.datetime(2026, 1, 1), default_args=ARGS
) as start_dag:
    deploy = DeployRunOperator(
        task_id="deploy", workflow="Slow", parameters={"duration": 1.0}, poll_interval=0.05
    )
    # Each try waits at most 0.4 s for a run that takes about 1 s: the first tries fail on their
    # timeout, and the retries must wait for the same run instead of starting it again.
    StartRunOperator(
        task_id="start",
        workflow_id=deploy.output["workflow_id"],
        run_id=deploy.output["run_id"],
        timeout=0.4,
        poll_interval=0.05,
        interrupt_on_timeout=False,
    )

with DAG(
    "it_no_retry_for_mistakes", schedule=None, start_date=pendulum.datetime(2026, 1, 1), default_args=ARGS
) as mistake_dag:
    # An unknown workflow is a mistake in the DAG: retrying cannot help, so the task fails at once.
    DeployRunOperator(task_id="deploy", workflow="NoSuchWorkflow")
