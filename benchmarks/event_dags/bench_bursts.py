"""benchmarks/event_watchers.py --burst: one RunEventTrigger watcher per Bench workflow, and one DAG
per watched asset (its DAG runs are what the benchmark counts, in the metadata database)."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_pseven.triggers import RunEventTrigger

POLL = float(os.environ.get("PSEVEN_BENCH_POLL", "5"))
WORKFLOWS = int(os.environ.get("PSEVEN_BENCH_WORKFLOWS", "10"))

for index in range(WORKFLOWS):
    path = f"/Users/1/Bench{index}.p7wf"
    watcher = AssetWatcher(name=f"bench{index}", trigger=RunEventTrigger(workflow=path, poll_interval=POLL))
    asset = Asset(f"pseven://127.0.0.1{path}", watchers=[watcher])
    with DAG(
        f"bench_burst_{index}", schedule=[asset], start_date=pendulum.datetime(2026, 1, 1), catchup=False
    ):

        @task
        def done() -> None:
            """Nothing: the benchmark reads the DAG run's events from the metadata database."""

        done()
