"""Event-driven scheduling on pSeven runs (Airflow 3.3+): DAGs that react to runs, and to downloads.

1. ``example_pseven_events``: scheduled on an Asset watched by a ``RunEventTrigger``. Every run of
   the ToyWorkflow that FINISHES, however it was started (an engineer in Studio, AppsHub, a script,
   another DAG), reaches one DAG run: the watcher reports the runs each look finds ended in one
   asset event, and ``pseven_runs(...)`` reads them back, one dict per run (``{"workflow_id",
   "run_id", "name", "path", "url", "state", "results"}``); this DAG downloads each run's
   ``results.json`` and writes a summary. Run it by hand with ``{"runs": [run, ...]}`` as its conf
   to post-process given runs again.
2. ``example_pseven_events_producer`` runs the workflow and downloads its results to a folder
   declared as an Asset (``destination=download_asset(...)``, one line), and
   ``example_pseven_events_consumer`` is scheduled on that Asset: it learns from the asset event
   which pSeven run produced the file.

The watcher runs in Airflow's triggerer (``airflow dags test`` cannot run it; ``make demo`` starts
a triggerer and a scheduler for this file). Files go through object storage under
``<base>/example_pseven_events/`` (the base as in example_pseven_run: the Airflow Variable
``pseven_examples_base``, else ``$PSEVEN_EXAMPLES_BASE``, else ``demo-output/``). The download
Asset's URI is fixed when the file is parsed, so it reads the environment variable only.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, ObjectStoragePath, Variable, task

from airflow_provider_pseven import pseven_runs
from airflow_provider_pseven.assets import download_asset
from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    StartRunOperator,
)
from airflow_provider_pseven.triggers import RunEventTrigger

# Only environment reads at the top level: parsing this file never touches the network.
BASE = (
    os.environ.get("PSEVEN_EXAMPLES_BASE")
    or Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute().as_uri()
)
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))  # seconds between looks at the runs list
WORKFLOW = "/Users/1/ToyWorkflow.p7wf"  # an id, a storage path or a unique workflow name
SERVER = os.environ.get("PSEVEN_DEMO_SERVER", "app.pseven.io")  # only names the Asset
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def events_folder(*parts: str) -> ObjectStoragePath:
    """Where this file's DAGs write, in object storage, made if need be (read when a task runs)."""
    base = ObjectStoragePath(Variable.get("pseven_examples_base", default=BASE))
    folder = base.joinpath("example_pseven_events", *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# The Asset of the workflow's finished runs. Its watcher polls the runs list (one request per
# interval, shared by every watcher of this workflow) and reports each run that finishes once,
# keeping what it reported in the asset state store, so a triggerer restart repeats and loses none.
toy_finished = Asset(
    f"pseven://{SERVER}{WORKFLOW}",
    watchers=[
        AssetWatcher(
            name="toy_finished",
            trigger=RunEventTrigger(workflow=WORKFLOW, states=["FINISHED"], poll_interval=POLL),
        )
    ],
)

with DAG(
    dag_id="example_pseven_events",
    schedule=[toy_finished],
    start_date=START,
    catchup=False,
    tags=["pseven", "example", "events"],
) as events_dag:

    @task
    def finished_runs(triggering_asset_events: Any = None, dag_run: Any = None) -> list[dict[str, Any]]:
        """The runs this DAG run is for: every run of its asset events (an event holds all the runs
        one look found ended), or those given in the run's conf."""
        given = (dag_run.conf or {}).get("runs") if dag_run is not None else None
        if given:
            return list(given)
        return pseven_runs(triggering_asset_events[toy_finished]) if triggering_asset_events else []

    runs = finished_runs()

    # One download per run (dynamic task mapping over the runs of this DAG run).
    download = DownloadFileOperator.partial(
        task_id="download_results", file="results.json", overwrite=True
    ).expand_kwargs(
        runs.map(
            lambda run: {
                "workflow_id": run["workflow_id"],
                "run_id": run["run_id"],
                "destination": f"{events_folder()}/runs/{run['run_id']}/",
            }
        )
    )

    @task
    def write_summary(runs: list[dict[str, Any]], run_id: str | None = None) -> None:
        """One line per run, in a file of this DAG run's own (object storage has no append)."""
        keys = ("run_id", "name", "state", "url", "results")
        lines = [json.dumps({k: run.get(k) for k in keys}) + "\n" for run in runs]
        name = re.sub(r"[^\w.-]+", "_", str(run_id)) + ".jsonl"
        (events_folder("processed") / name).write_text("".join(lines))

    download >> write_summary(runs)


# --- a producer and a consumer over a download Asset ------------------------------------------------

# download_asset() turns a local path (file://) or an object-storage URL into an Asset; given as a
# DownloadFileOperator destination, it is where the file goes and the task's outlet, in one line.
toy_results = download_asset(f"{BASE}/example_pseven_events/latest")

with DAG(
    dag_id="example_pseven_events_producer",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["pseven", "example", "events"],
) as producer_dag:
    deploy = DeployRunOperator(task_id="deploy", workflow=WORKFLOW, poll_interval=POLL)
    run = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    start = StartRunOperator(task_id="start", poll_interval=POLL, **run)
    # The outlet event carries the run: extra["pseven"] = {workflow_id, run_id, ..., results, files}.
    publish = DownloadFileOperator(
        task_id="download_results", file="results.json", destination=toy_results, overwrite=True, **run
    )
    delete = DeleteRunOperator(task_id="delete_run", **run).as_teardown(setups=deploy)
    deploy >> start >> publish >> delete

with DAG(
    dag_id="example_pseven_events_consumer",
    schedule=[toy_results],
    start_date=START,
    catchup=False,
    tags=["pseven", "example", "events"],
) as consumer_dag:

    @task
    def report(triggering_asset_events: Any = None) -> dict[str, Any]:
        """Which pSeven run wrote the file this DAG run is for."""
        event = triggering_asset_events[toy_results][-1]
        run = event.extra["pseven"]
        line = {"run_id": run["run_id"], "url": run["url"], "files": run["files"], "results": run["results"]}
        (events_folder() / "consumed.json").write_text(json.dumps(line, indent=2))
        return line

    report()
