"""The DAGs of benchmarks/sweep_scaling.py: one sweep of N points, run two ways.

- ``sweep_bench_mapped_<N>``: the mapped baseline, ``RunWorkflowOperator`` (deferrable) expanded
  over the N parameter sets, at most ``CONCURRENCY`` task instances (deferred ones included) live;
- ``sweep_bench_sweep_<N>``: ``RunSweepOperator`` over the same N sets, ``max_active_runs`` the same.

Both delete each run once its results are read, as the sweep does by default, and both have
retries: Airflow 3.3 can fail a task that resumed from a deferral (apache/airflow#72716); a retry
of the sweep adopts its runs by name, one of the mapped task adopts a live run and redeploys an
ended one. The plan, the concurrency and the poll interval come from the benchmark's environment;
the workflow (``/Users/1/SweepPoint.p7wf``) is the one the benchmark adds to its emulator.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import RunWorkflowOperator

try:  # the sweep operator may be missing from an older checkout: then only the baseline is defined
    from airflow_provider_pseven.operators import RunSweepOperator
except ImportError:
    RunSweepOperator = None

#: The sizes of each variant, e.g. ``mapped=20 sweep=20,200``: only the DAGs to run are defined, so
#: every task process parses what it needs and nothing more.
PLAN = dict(
    item.split("=") for item in os.environ.get("PSEVEN_SWEEP_BENCH_PLAN", "mapped=20 sweep=20").split()
)
CONCURRENCY = int(os.environ.get("PSEVEN_SWEEP_BENCH_CONCURRENCY", "50"))
POLL = float(os.environ.get("PSEVEN_SWEEP_BENCH_POLL", "1"))
RESULTS = os.environ.get("PSEVEN_SWEEP_BENCH_RESULTS", "/tmp/pseven-sweep-bench")
WORKFLOW = "/Users/1/SweepPoint.p7wf"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=1)}


def points(count: int) -> list[dict[str, Any]]:
    """N distinct parameter sets: no point is a duplicate a sweep could skip."""
    return [{"x": round(index / count, 6)} for index in range(count)]


# Run once before anything is measured: the api-server's Execution API, the workers and the
# triggerer do their lazy start-up work (17 s on a loaded machine) here, not in the first variant.
with DAG(dag_id="sweep_bench_warmup", schedule=None, start_date=START, catchup=False):
    RunWorkflowOperator(
        task_id="point",
        workflow=WORKFLOW,
        parameters={"x": 0.5},
        deferrable=True,
        poll_interval=POLL,
        delete_after=True,
        **RETRIES,
    )

for size in [int(n) for n in PLAN.get("mapped", "").split(",") if n]:
    with DAG(dag_id=f"sweep_bench_mapped_{size}", schedule=None, start_date=START, catchup=False):
        RunWorkflowOperator.partial(
            task_id="point",
            workflow=WORKFLOW,
            deferrable=True,
            poll_interval=POLL,
            delete_after=True,
            max_active_tis_per_dagrun=CONCURRENCY,
            **RETRIES,
        ).expand(parameters=points(size))

for size in [int(n) for n in PLAN.get("sweep", "").split(",") if n] if RunSweepOperator else []:
    with DAG(dag_id=f"sweep_bench_sweep_{size}", schedule=None, start_date=START, catchup=False):
        RunSweepOperator(
            task_id="sweep",
            workflow=WORKFLOW,
            parameter_sets=points(size),
            max_active_runs=CONCURRENCY,
            results_destination=f"{RESULTS}/sweep_{size}/{{{{ run_id }}}}",
            poll_interval=POLL,
            deferrable=True,
            **RETRIES,
        )
