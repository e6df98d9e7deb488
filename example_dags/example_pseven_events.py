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
a triggerer and a scheduler for this file). Files go to ``$PSEVEN_DEMO_OUTPUT/example_pseven_events/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

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
OUTPUT = Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute() / "example_pseven_events"
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))  # seconds between looks at the runs list
WORKFLOW = "/Users/1/ToyWorkflow.p7wf"  # an id, a storage path or a unique workflow name
SERVER = os.environ.get("PSEVEN_DEMO_SERVER", "app.pseven.io")  # only names the Asset
START = pendulum.datetime(2026, 1, 1, tz="UTC")

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
                "destination": f"{OUTPUT}/runs/{run['run_id']}/",
            }
        )
    )

    @task
    def write_summary(runs: list[dict[str, Any]]) -> None:
        """Append one line per run to a summary that people (and scripts/demo.py) read."""
        OUTPUT.mkdir(parents=True, exist_ok=True)
        with (OUTPUT / "processed.jsonl").open("a") as summary:
            for run in runs:
                line = {k: run.get(k) for k in ("run_id", "name", "state", "url", "results")}
                summary.write(json.dumps(line) + "\n")

    download >> write_summary(runs)


# --- a producer and a consumer over a download Asset ------------------------------------------------

# download_asset() turns a local path (file://) or an object-storage URL into an Asset; given as a
# DownloadFileOperator destination, it is where the file goes and the task's outlet, in one line.
toy_results = download_asset(OUTPUT / "latest")

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
        OUTPUT.mkdir(parents=True, exist_ok=True)
        line = {"run_id": run["run_id"], "url": run["url"], "files": run["files"], "results": run["results"]}
        (OUTPUT / "consumed.json").write_text(json.dumps(line, indent=2))
        return line

    report()
