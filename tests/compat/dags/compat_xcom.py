"""A run whose results Airflow refuses as XCom keys or values of their own (tests/compat)."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    RunWorkflowOperator,
    StartRunOperator,
)

DEFERRABLE = os.environ.get("PSEVEN_IT_DEFERRABLE", "true") == "true"

with DAG("compat_xcom_safety", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    deploy = DeployRunOperator(task_id="deploy", workflow="Awkward", poll_interval=0.2)
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", deferrable=DEFERRABLE, poll_interval=0.2, **ids)
    cycle = RunWorkflowOperator(
        task_id="cycle", workflow="Awkward", delete_after=True, deferrable=DEFERRABLE, poll_interval=0.2
    )

    @task
    def check(status: Any, whole: dict[str, Any]) -> dict[str, Any]:
        """Per-key XComs that were pushed resolve; the whole dict is there as the return value.

        A key whose value is None is read from the whole dict: with ``multiple_outputs`` off (Airflow's
        own push is not used), Airflow takes a stored None for a missing XCom (docs/compatibility.md)."""
        return {"status": status, "empty": whole["Empty"], "names": sorted(whole)}

    checked = check(start.output["Block/Status"], start.output)
    delete = DeleteRunOperator(task_id="delete", **ids)
    deploy >> start >> checked >> delete
