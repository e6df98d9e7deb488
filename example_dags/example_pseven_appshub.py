"""Publish a workflow as an AppsHub app, then run the app on your own (personal) resources.

Needs the "Publish apps" role in the workspace "Toy apps". Publishing the same app name again
adds a version; the run below uses the version this DAG run published.
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
    PublishAppOperator,
    StartRunOperator,
)

# The summary goes to object storage, under the base of example_pseven_run (the Variable
# pseven_examples_base, else $PSEVEN_EXAMPLES_BASE, else demo-output/).
BASE = (
    os.environ.get("PSEVEN_EXAMPLES_BASE")
    or Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute().as_uri()
)
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))


def run_folder(run_id: str) -> ObjectStoragePath:
    """This DAG run's own folder in object storage, made if need be (read when a task runs): no
    task reads what an older DAG run left there."""
    folder = ObjectStoragePath(Variable.get("pseven_examples_base", default=BASE))
    folder = folder / "example_pseven_appshub" / re.sub(r"[^\w.-]+", "_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


with DAG(
    dag_id="example_pseven_appshub",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pseven", "example"],
) as dag:
    # Publish and wait in the triggerer (deferrable=True) until the new version is READY.
    # Returns {"app_id", "version", "revision", "url", "state"}.
    publish = PublishAppOperator(
        task_id="publish",
        workflow="/Users/1/ToyWorkflow.p7wf",
        name="Toy from Airflow",
        workspace_name="Toy apps",
        description="Published by the example_pseven_appshub DAG",
        deferrable=True,
        poll_interval=POLL,
    )

    # An app run is addressed by "<app id>@<version>" (or the app id alone: its default version,
    # or its unique name). personal=True runs it on the user's resources, not the workspace's.
    deploy = DeployRunOperator(
        task_id="deploy",
        app="{{ ti.xcom_pull('publish')['app_id'] }}@{{ ti.xcom_pull('publish')['version'] }}",
        personal=True,
        parameters={"MyFirstParameter": "hello from AppsHub"},
        deferrable=True,
        poll_interval=POLL,
    )
    run = {"app_id": deploy.output["app_id"], "run_id": deploy.output["run_id"]}

    # Start and wait in one task (deferred); returns the results {name: value}.
    start = StartRunOperator(task_id="start", deferrable=True, poll_interval=POLL, timeout=3600, **run)

    @task
    def write_summary(app: dict, results: dict, run_id: str | None = None) -> None:
        summary = {"dag_id": "example_pseven_appshub", "app": app, "results": results}
        (run_folder(str(run_id)) / "summary.json").write_text(json.dumps(summary, indent=2))

    summary = write_summary(publish.output, start.output)

    delete = DeleteRunOperator(task_id="delete_run", **run).as_teardown(setups=deploy)

    publish >> deploy >> start >> summary >> delete
