"""Integration DAG: the whole run lifecycle with the separate operators (deferred waits)."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    GetRunResultsOperator,
    ListFilesOperator,
    PatchParametersOperator,
    StartRunOperator,
    UploadFilesOperator,
)
from airflow_provider_pseven.sensors import RunStateSensor

OUT = os.environ.get("PSEVEN_IT_OUTPUT", "/tmp/pseven-it-output")
DEFERRABLE = os.environ.get("PSEVEN_IT_DEFERRABLE", "true") == "true"

with DAG("it_lifecycle", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    deploy = DeployRunOperator(
        task_id="deploy",
        workflow="/Users/1/ToyWorkflow.p7wf",
        parameters={"MySecret": os.environ.get("PSEVEN_IT_SECRET", "it-secret")},
        deferrable=DEFERRABLE,
        poll_interval=0.2,
    )
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    # A later PATCH of another parameter leaves the Secret set at deploy alone. A server that wants
    # every parameter in a PATCH, or resets what a PATCH leaves out (points the guide leaves open),
    # cannot be given a masked Secret back, so there the DAG restates it, as the provider's error
    # message tells a user to.
    later = {"MyFirstParameter": "from airflow"}
    if os.environ.get("PSEVEN_IT_FULL_PATCH") == "1":
        later["MySecret"] = os.environ.get("PSEVEN_IT_SECRET", "it-secret")
    patch = PatchParametersOperator(task_id="patch", parameters=later, **ids)
    upload = UploadFilesOperator(
        task_id="upload", files=[os.path.join(OUT, "input.txt")], destination="inputs", **ids
    )
    start = StartRunOperator(task_id="start", wait_for_completion=False, **ids)
    wait = RunStateSensor(
        task_id="wait",
        workflow_id="{{ ti.xcom_pull('deploy')['workflow_id'] }}",
        run_id="{{ ti.xcom_pull('deploy')['run_id'] }}",
        deferrable=DEFERRABLE,
        poll_interval=0.2,
    )
    results = GetRunResultsOperator(task_id="results", **ids)
    listing = ListFilesOperator(task_id="list", recursive=True, **ids)
    download = DownloadFileOperator(task_id="download", file="results.json", destination=OUT + "/", **ids)
    delete = DeleteRunOperator(task_id="delete", trigger_rule="all_done", **ids)
    deploy >> patch >> upload >> start >> wait >> results >> listing >> download >> delete
