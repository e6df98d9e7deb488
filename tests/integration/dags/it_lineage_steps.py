"""Lineage of the step operators (issue 27): every task's events carry the whole pseven_run facet,
inputs and outputs name file:// URLs and the run directory, and a declared Secret is left out of
the facet. tests/integration/test_openlineage.py runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    StartRunOperator,
    UploadFilesOperator,
)
from airflow_provider_pseven.sensors import RunStateSensor

OUT = Path(os.environ.get("PSEVEN_IT_OUTPUT", "/tmp/pseven-it-output"))

with DAG("it_lineage_steps", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    deploy = DeployRunOperator(
        task_id="deploy",
        workflow="/Users/1/ToyWorkflow.p7wf",
        # A value from a Variable with an innocent key, declared secret: masked, and out of the facet.
        parameters={"MyFirstParameter": "{{ var.value.pseven_my_secret }}", "MySecondParameter": 7},
        secret_parameters=["MyFirstParameter"],
        poll_interval=0.2,
    )
    run = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    upload = UploadFilesOperator(
        task_id="upload", files=[(OUT / "input.csv").as_uri()], destination="inputs", **run
    )
    start = StartRunOperator(task_id="start", poll_interval=0.2, **run)
    watch = RunStateSensor(task_id="watch", poke_interval=0.2, **run)  # a sensor carries the facet too
    download = DownloadFileOperator(
        task_id="download", file="results.json", destination=(OUT / "steps").as_uri() + "/", **run
    )
    delete = DeleteRunOperator(task_id="delete", **run)
    deploy >> upload >> start >> watch >> download >> delete
