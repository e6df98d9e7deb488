"""Integration DAGs: inputs read from object storage (S3 on loopback), outputs written back to it."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, ObjectStoragePath

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    ListFilesOperator,
    RunWorkflowOperator,
    UploadFilesOperator,
)

BUCKET = "s3://it_s3@pseven-it"  # the connection id in the URL, as Airflow's ObjectStoragePath reads it
START = pendulum.datetime(2026, 1, 1)

with DAG("it_objstore_steps", schedule=None, start_date=START, catchup=False) as steps_dag:
    deploy = DeployRunOperator(task_id="deploy", workflow="ToyWorkflow", poll_interval=0.2)
    ids = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    upload = UploadFilesOperator(
        task_id="upload",
        files=[f"{BUCKET}/in/input.txt", (ObjectStoragePath(f"{BUCKET}/in/tree/"), "tree")],
        destination="inputs",
        **ids,
    )
    listing = ListFilesOperator(task_id="list", directory="inputs", recursive=True, **ids)
    download = DownloadFileOperator(
        task_id="download", file="inputs/tree", destination=f"{BUCKET}/out/", **ids
    )
    delete = DeleteRunOperator(task_id="delete", **ids)
    deploy >> upload >> listing >> download >> delete

with DAG("it_objstore_cycle", schedule=None, start_date=START, catchup=False) as cycle_dag:
    RunWorkflowOperator(
        task_id="cycle",
        workflow="ToyWorkflow",
        files=[f"{BUCKET}/in/input.txt"],
        upload_destination="inputs",
        downloads={"results.json": f"{BUCKET}/results/"},
        delete_after=True,
        poll_interval=0.2,
    )

with DAG("it_objstore_bad", schedule=None, start_date=START, catchup=False) as bad_dag:
    RunWorkflowOperator(
        task_id="no_connection", workflow="ToyWorkflow", files=["s3://it_no_such_conn@pseven-it/in/input.txt"]
    )
    RunWorkflowOperator(task_id="no_object", workflow="ToyWorkflow", files=[f"{BUCKET}/in/nope.csv"])
