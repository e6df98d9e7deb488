"""A burst through real Airflow processes (``event_watchers.py --burst``): 100 runs of 10 workflows
ending within one poll, watched by 10 RunEventTrigger watchers, each feeding one DAG.

Airflow (api-server, scheduler, dag-processor, triggerer; LocalExecutor, SQLite) runs as in
tests/e2e; the emulator runs in this process, which sees each run turn FINISHED (every 20 ms) and
reads from the metadata database which DAG run holds which run. Measured:

- per run, FINISHED to the creation (``queued_at``) of the DAG run that holds it: p50, p99, max;
- the last run's end to the last DAG run created, and the runs in no DAG run at the end;
- runs-list and details requests reaching the emulator, per interval, over ``settle`` seconds from
  the burst's start;
- the CPU of the triggerer's processes (supervisor and trigger runner) over the same window.

``--provider DIR`` runs the Airflow processes on another copy of the provider, e.g. the per-run
events of 0.2 (``git archive ad72737 | tar -x -C /tmp/old``), for the side-by-side table.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_pseven import pseven_runs  # noqa: E402
from airflow_provider_pseven.emulator import EmulatorServer  # noqa: E402
from airflow_provider_pseven.emulator.workflows import Workflow, toy_workflow  # noqa: E402
from tests.cluster.harness import process_tree_cpu as _cpu  # noqa: E402
from tests.e2e.cluster import AirflowCluster  # noqa: E402
from tests.events_support import FinishWatch, deploy_run, launch_run, workflow_id  # noqa: E402


def _workflows(count: int) -> list[Workflow]:
    toy = toy_workflow()
    return [
        Workflow(f"/Users/1/Bench{i}.p7wf", toy.function, toy.parameters, toy.results) for i in range(count)
    ]


def _stamp(value: Any) -> float:
    moment = datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _held(home: Path) -> dict[str, float]:
    """pSeven run id -> creation time of the first DAG run holding it (and how many hold it)."""
    with closing(sqlite3.connect(home / "airflow.db", timeout=10)) as db:
        rows = db.execute(
            "SELECT dr.id, dr.queued_at, ae.extra FROM dag_run dr "
            "JOIN dagrun_asset_event dae ON dae.dag_run_id = dr.id "
            "JOIN asset_event ae ON ae.id = dae.event_id ORDER BY ae.id"
        ).fetchall()
    held: dict[str, float] = {}
    for _, queued_at, extra in rows:
        for run in pseven_runs([{"extra": json.loads(extra)}]):
            held.setdefault(run["run_id"], _stamp(queued_at))
    return held


def run_burst(
    workflows: int, runs: int, interval: float, provider: str | None, settle: float
) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="pseven-bench-bursts-"))
    env = {"PSEVEN_BENCH_POLL": str(interval), "PSEVEN_BENCH_WORKFLOWS": str(workflows)}
    env["PYTHONPATH"] = os.pathsep.join([provider or str(ROOT), str(ROOT)])
    try:
        with EmulatorServer(time_scale=0.2, workflows=_workflows(workflows)) as emulator:
            env["AIRFLOW_CONN_PSEVEN_DEFAULT"] = emulator.connection_json()
            airflow = AirflowCluster(home, ROOT / "benchmarks" / "event_dags", env)
            airflow.start()
            try:
                for index in range(workflows):
                    airflow.wait_for_dag(f"bench_burst_{index}")
                airflow.wait(
                    lambda: (
                        airflow.log("triggerer").count("reporting runs that end from now on") >= workflows
                    ),
                    300,
                    "the watchers starting",
                )
                paths = [f"/Users/1/Bench{i % workflows}.p7wf" for i in range(runs)]
                wids = {p: workflow_id(emulator, p) for p in set(paths)}
                with ThreadPoolExecutor(8) as pool:
                    ids = list(pool.map(lambda p: deploy_run(emulator, p), paths))
                with FinishWatch(emulator) as watch:
                    triggerer = airflow.processes["triggerer"].pid
                    emulator.requests.clear()
                    start, cpu_before = time.time(), _cpu(triggerer)
                    with ThreadPoolExecutor(8) as pool:
                        list(
                            pool.map(
                                lambda pr: launch_run(emulator, wids[pr[0]], pr[1]),
                                zip(paths, ids, strict=True),
                            )
                        )
                    time.sleep(settle)  # a fixed window: the same for both providers' CPU and requests
                    end, cpu_after = time.time(), _cpu(triggerer)
                    held = _held(home)
                    finished = dict(watch.finished)
            finally:
                airflow.stop()
            gets = [e for e in emulator.requests.entries(method="GET") if start <= e.time <= end]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lists = [e for e in gets if e.path.endswith("/runs/")]
    details = [e for e in gets if not e.path.endswith("/runs/") and "/runs/" in e.path]
    latencies = sorted(held[r] - finished[r] for r in ids if r in held and r in finished)
    intervals = max(1.0, (end - start) / interval)
    last_end = max(finished[r] for r in ids if r in finished)
    return {
        "provider": provider or "this branch",
        "runs": runs,
        "in_a_dag_run": len(latencies),
        "p50_s": latencies[len(latencies) // 2] if latencies else None,
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
        "max_s": latencies[-1] if latencies else None,
        "last_end_to_last_dag_run_s": (max(held[r] for r in ids if r in held) - last_end)
        if latencies
        else None,
        "list_requests_per_interval": len(lists) / intervals,
        "details_requests": len(details),
        "triggerer_cpu_ms_per_interval": (cpu_after - cpu_before) / intervals * 1000,
        "window_s": end - start,
    }


def report(row: dict[str, Any], interval: float) -> None:
    def fmt(value: Any) -> str:
        return "" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

    print(f"\nburst through real Airflow processes, poll interval {interval:g} s\n")
    print(
        "| provider | runs | in a DAG run | p50 s | p99 s | max s | last end to last DAG run s "
        "| list requests / interval | details requests | triggerer CPU ms / interval |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = ("runs", "in_a_dag_run", "p50_s", "p99_s", "max_s", "last_end_to_last_dag_run_s")
    keys += ("list_requests_per_interval", "details_requests", "triggerer_cpu_ms_per_interval")
    print("| " + " | ".join([row["provider"], *(fmt(row[k]) for k in keys)]) + " |")
    print(json.dumps(row), file=sys.stderr)
