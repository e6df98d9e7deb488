"""The DAG the browser tests open tabs of: a finished run, a failed one, a mapped pair, a run left
RUNNING, and a task that never touched pSeven."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_pseven.operators import DeployRunOperator, RunWorkflowOperator, StartRunOperator

#: The emulator runs at a tenth of real time: poll often, so the test DAG run takes seconds.
FAST = {"poll_interval": 0.3}

with DAG(
    "pseven_ui_tab",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=FAST,
):
    RunWorkflowOperator(
        task_id="toy",
        workflow="ToyWorkflow",
        parameters={"MyFirstParameter": "from Airflow", "MySecret": "hunter2-never-shown"},
        secret_parameters=["MySecret"],
    )
    RunWorkflowOperator(task_id="failing", workflow="Failing", retries=0)
    RunWorkflowOperator.partial(task_id="sweep", workflow="ToyWorkflow").expand(
        parameters=[{"MyFirstParameter": "alpha"}, {"MyFirstParameter": "beta"}]
    )
    deploy = DeployRunOperator(task_id="deploy_slow", workflow="Slow", parameters={"duration": 3600})
    deploy >> StartRunOperator(
        task_id="start_slow",
        workflow_id=deploy.output["workflow_id"],
        run_id=deploy.output["run_id"],
        wait_for_completion=False,
    )

    @task
    def not_pseven() -> str:
        return "no pSeven here"

    not_pseven()
