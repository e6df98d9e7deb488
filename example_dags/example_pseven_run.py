"""One pSeven Enterprise run, step by step: deploy, configure, upload, start, wait, collect, delete.

Needs the connection ``pseven_default`` (see the README) and the Airflow Variable
``pseven_my_secret`` (for example ``export AIRFLOW_VAR_PSEVEN_MY_SECRET=...``), the value of the
workflow's Secret parameter.

The tasks pass files through object storage, never through a worker's disk, so the DAG runs
unchanged on a Celery or Kubernetes deployment where each task may run on another machine. Files go
under ``<base>/example_pseven_run/<DAG run id>/``: the base is the Airflow Variable
``pseven_examples_base``, else the environment variable ``PSEVEN_EXAMPLES_BASE``, else the local
folder ``demo-output/`` (``make demo``). An object-storage base names its Airflow connection in the
URL, e.g. ``s3://aws_default@my-bucket/pseven-examples``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, Variable, task

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    GetRunResultsOperator,
    PatchParametersOperator,
    StartRunOperator,
    UploadFilesOperator,
)
from airflow_provider_pseven.sensors import RunStateSensor

# Only environment reads at the top level: parsing this file never touches the network.
BASE = (
    os.environ.get("PSEVEN_EXAMPLES_BASE")
    or Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute().as_uri()
)
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))  # seconds between state checks
WORKFLOW = "/Users/1/ToyWorkflow.p7wf"  # an id, a storage path or a unique workflow name


def run_folder(run_id: str) -> ObjectStoragePath:
    """This DAG run's own folder in object storage, made if need be (read when a task runs): no
    task reads what an older DAG run left there."""
    folder = ObjectStoragePath(Variable.get("pseven_examples_base", default=BASE))
    folder = folder / "example_pseven_run" / re.sub(r"[^\w.-]+", "_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


with DAG(
    dag_id="example_pseven_run",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pseven", "example"],
    user_defined_macros={"run_folder": run_folder},  # "{{ run_folder(run_id) }}" in templates
) as dag:

    @task
    def write_input(run_id: str | None = None) -> str:
        """Prepare an input file for the run (any file the workflow reads from its run directory)
        and return its URL: the upload task reads it from object storage, on whatever worker."""
        path = run_folder(str(run_id)) / "input.csv"
        path.write_text("x,y\n0.1,2.0\n0.2,3.5\n0.3,4.1\n")
        return str(path)

    # Deploy a run and wait until it is in CONFIGURATION. deferrable=True waits in the triggerer,
    # holding no worker slot (the default is Airflow's [operators] default_deferrable).
    # It returns {"workflow_id", "run_id", "name", "path", "url", "state"}; each key is also its
    # own XCom, so deploy.output["run_id"] can be passed to the next operators.
    deploy = DeployRunOperator(task_id="deploy", workflow=WORKFLOW, deferrable=True, poll_interval=POLL)
    run = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}

    # Secrets belong in a connection or an Airflow Variable (a secrets backend in production),
    # never in DAG code. The template is rendered only when the task runs. Airflow masks a Variable
    # only when its key holds a word like "secret"; secret_parameters masks the value whatever the
    # names, as the task renders its templates, before the UI, the metadata database or lineage
    # see it. The XCom shows Secrets as "".
    patch = PatchParametersOperator(
        task_id="set_parameters",
        parameters={
            "MyFirstParameter": "set from Airflow",
            "MySecondParameter": 3.14,
            "MySecret": "{{ var.value.pseven_my_secret }}",
        },
        secret_parameters=["MySecret"],
        **run,
    )

    # Upload the file written above into the run directory (only allowed in CONFIGURATION).
    upload = UploadFilesOperator(task_id="upload_input", files=[write_input()], destination="inputs", **run)

    # Start without waiting in this task; the sensor below waits deferred (in the triggerer), so no
    # worker slot is held while the workflow runs. Like every pSeven operator and sensor, it defers
    # when asked (deferrable=True) or when [operators] default_deferrable is on.
    start = StartRunOperator(task_id="start", wait_for_completion=False, **run)
    wait = RunStateSensor(task_id="wait_finished", deferrable=True, poke_interval=POLL, timeout=3600, **run)

    results = GetRunResultsOperator(task_id="results", **run)  # {result name: value}

    # Downloads go to this DAG run's folder too. A destination ending in "/" is a folder that
    # receives the file under its own name.
    download_results = DownloadFileOperator(
        task_id="download_results",
        file="results.json",
        destination="{{ run_folder(run_id) }}/",
        overwrite=True,
        **run,
    )
    download_log = DownloadFileOperator(
        task_id="download_log",
        file=".p7.log.txt",
        destination="{{ run_folder(run_id) }}/run.log",
        overwrite=True,
        **run,
    )

    @task
    def write_summary(results: dict, pseven_run_id: str, url: str, run_id: str | None = None) -> None:
        """A small summary file for people (and for scripts/demo.py)."""
        summary = {"dag_id": "example_pseven_run", "run_id": pseven_run_id, "url": url, "results": results}
        (run_folder(str(run_id)) / "summary.json").write_text(json.dumps(summary, indent=2))

    summary = write_summary(results.output, deploy.output["run_id"], deploy.output["url"])

    # Delete the run whatever happened. As a teardown it runs once everything before it is done
    # (like trigger_rule="all_done") but only if the deploy succeeded, and a failure upstream
    # still marks the DAG run failed.
    delete = DeleteRunOperator(task_id="delete_run", **run).as_teardown(setups=deploy)

    patch >> upload >> start >> wait >> results >> [download_results, download_log] >> summary >> delete
