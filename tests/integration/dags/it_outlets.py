"""Outlets that carry the run (issue 12): RunWorkflowOperator and GetRunResultsOperator put the
pSeven run (address, summary, results, files) on the event of each of their Asset outlets.
tests/integration/test_events.py runs it."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Asset

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    GetRunResultsOperator,
    RunWorkflowOperator,
    StartRunOperator,
)

OUT = os.environ.get("PSEVEN_IT_OUTPUT", "/tmp/pseven-it-output")

with DAG("it_outlets", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    cycle = RunWorkflowOperator(
        task_id="cycle",
        workflow="/Users/1/ToyWorkflow.p7wf",
        # A Secret from a Variable (masked everywhere, the OpenLineage provider's facets included),
        # never a literal in DAG code.
        parameters={"MySecret": "{{ var.value.pseven_my_secret }}", "MyFirstParameter": "lineage"},
        files=[f"{OUT}/input.csv"],
        downloads={"results.json": f"{OUT}/"},
        overwrite=True,
        delete_after=True,
        poll_interval=0.2,
        outlets=[Asset("x-it://outlets/cycle-a"), Asset("x-it://outlets/cycle-b")],
    )
    deploy = DeployRunOperator(task_id="deploy", workflow="/Users/1/ToyWorkflow.p7wf", poll_interval=0.2)
    run = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", poll_interval=0.2, **run)
    results = GetRunResultsOperator(task_id="results", outlets=[Asset("x-it://outlets/results")], **run)
    delete = DeleteRunOperator(task_id="delete", **run).as_teardown(setups=deploy)
    cycle >> deploy >> start >> results >> delete
