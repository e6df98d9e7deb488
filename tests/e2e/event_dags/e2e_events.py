"""A DAG scheduled on the finished runs of the ToyWorkflow, through a RunEventTrigger watcher
(tests/e2e/test_events_e2e.py): each DAG run records the pSeven runs of its triggering events."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_pseven import pseven_runs
from airflow_provider_pseven.triggers import RunEventTrigger

POLL = float(os.environ.get("PSEVEN_E2E_POLL", "2"))
finished = Asset(
    "pseven://127.0.0.1/Users/1/ToyWorkflow.p7wf",
    watchers=[
        AssetWatcher(
            name="e2e_toy_finished",
            trigger=RunEventTrigger(workflow="/Users/1/ToyWorkflow.p7wf", poll_interval=POLL),
        )
    ],
)

with DAG("e2e_events", schedule=[finished], start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:

    @task
    def record(triggering_asset_events: Any = None) -> list[str]:
        return [run["run_id"] for run in pseven_runs(triggering_asset_events[finished])]

    record()
