"""The chain of issue 27 on workers that share no disk (tests/cluster/test_no_shared_disk.py):
data preparation, upload, run, download and report, each task pinned to a worker by its queue so
consecutive tasks run on different workers. Files go between them only through object storage
(``PSEVEN_CLUSTER_S3_BASE``: S3 on loopback, through the ``cluster_s3`` connection)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, get_current_context, task

from airflow_provider_pseven.operators import (
    DeployRunOperator,
    DownloadFileOperator,
    StartRunOperator,
    UploadFilesOperator,
)

BASE = os.environ.get("PSEVEN_CLUSTER_S3_BASE", "s3://cluster_s3@pseven-cluster")

with DAG(
    "cluster_no_shared_disk",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1),
    catchup=False,
    params={"tag": "chain"},
):

    @task(queue="worker-1")
    def prepare() -> str:
        """Write the input in this worker's own working directory, then publish it: the URL is
        what the next task gets."""
        local = Path("input.txt")
        local.write_text("".join(f"{i}\n" for i in range(4)))
        target = f"{BASE}/{get_current_context()['params']['tag']}/input.txt"
        ObjectStoragePath(target).write_bytes(local.read_bytes())
        return target

    deploy = DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", poll_interval=1.0, queue="worker-2")
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    upload = UploadFilesOperator(
        task_id="upload", files=[prepare()], destination="inputs", queue="worker-2", **ids
    )
    start = StartRunOperator(task_id="start", deferrable=True, poll_interval=1.0, queue="worker-1", **ids)
    download = DownloadFileOperator(
        task_id="download",
        file="results.json",
        destination=BASE + "/{{ params.tag }}/out/",
        queue="worker-2",
        **ids,
    )

    @task(queue="worker-1")
    def report(written: list[str]) -> dict[str, Any]:
        """Read what the other worker downloaded, from object storage only."""
        results = json.loads(ObjectStoragePath(written[0]).read_text())
        return {"InputLineCount": results["InputLineCount"], "read_from": written[0]}

    deploy >> upload >> start >> download
    report(download.output)
