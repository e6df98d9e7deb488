"""DAGs scheduled on bursts of finished pSeven runs (tests/e2e/test_event_bursts_e2e.py), through
RunEventTrigger watchers; each DAG run reads its runs with ``pseven_runs``.

- ``burst``: one workflow, a consumer with Airflow's default ``max_active_runs``;
- ``busy``: a consumer with ``max_active_runs=1`` whose DAG runs take ``PSEVEN_E2E_BUSY`` seconds;
- ``trio``: three watchers on three workflows, one consumer scheduled on any of them;
- ``pooled``: the workaround for ``busy`` (docs/events.md): default ``max_active_runs``, the work
  serialised by a pool of one slot.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_pseven import pseven_runs
from airflow_provider_pseven.triggers import RunEventTrigger

POLL = float(os.environ.get("PSEVEN_E2E_POLL", "5"))
BUSY = float(os.environ.get("PSEVEN_E2E_BUSY", "8"))
START = pendulum.datetime(2026, 1, 1)


def finished(name: str) -> Asset:
    path = f"/Users/1/{name}.p7wf"
    watcher = RunEventTrigger(workflow=path, poll_interval=POLL)
    return Asset(f"pseven://127.0.0.1{path}", watchers=[AssetWatcher(name=f"e2e_{name}", trigger=watcher)])


burst, busy, pooled = finished("Burst"), finished("Busy"), finished("Pooled")
trio = [finished(f"Trio{i}") for i in (1, 2, 3)]

with DAG("burst", schedule=[burst], start_date=START, catchup=False):

    @task
    def record(triggering_asset_events: Any = None) -> list[str]:
        return [run["run_id"] for run in pseven_runs(triggering_asset_events[burst])]

    record()

with DAG("busy", schedule=[busy], start_date=START, catchup=False, max_active_runs=1):

    @task
    def work(triggering_asset_events: Any = None) -> list[str]:
        time.sleep(BUSY)  # a post-processing step that keeps the consumer busy
        return [run["run_id"] for run in pseven_runs(triggering_asset_events[busy])]

    work()

with DAG("trio", schedule=(trio[0] | trio[1] | trio[2]), start_date=START, catchup=False):

    @task
    def collect(triggering_asset_events: Any = None) -> list[str]:
        return [run["run_id"] for run in pseven_runs(triggering_asset_events)]

    collect()

with DAG("pooled", schedule=[pooled], start_date=START, catchup=False):

    @task(pool="pseven_post")
    def serialised(triggering_asset_events: Any = None) -> list[str]:
        time.sleep(BUSY)
        return [run["run_id"] for run in pseven_runs(triggering_asset_events[pooled])]

    serialised()
