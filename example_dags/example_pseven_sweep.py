"""A parameter sweep: one pSeven run per design point (dynamic task mapping), then the best one.

Each of the 20 mapped runs of the DiskModel workflow samples disk designs and reports the lightest
design that satisfies its stress limit. A task picks the lightest over the whole sweep and downloads
that run's plot; every run is deleted at the end. Files go under
``<base>/example_pseven_sweep/<DAG run id>/`` in object storage (the base as in example_pseven_run:
Variable ``pseven_examples_base``, else ``$PSEVEN_EXAMPLES_BASE``, else ``demo-output/``).

The same sweep with ``@task.pseven`` is example_pseven_decorator.py; docs/patterns.md compares them.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, Variable, task

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    DownloadFileOperator,
    StartRunOperator,
)

BASE = (
    os.environ.get("PSEVEN_EXAMPLES_BASE")
    or Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute().as_uri()
)
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))
WORKFLOW = "/Users/1/DiskModel.p7wf"
PLOT = "🏠.Disk Model [0001].p7wd/diagrams.png"  # written by the workflow in its run directory

# 4 outer radii x 5 rotation speeds = 20 runs. Parameters are addressed by their unique names;
# "Sampler/Seed" needs its block prefix because the Optimizer block has a "Seed" too.
SWEEP = [
    {"OuterRadius": radius, "Speed": speed, "Count": 50, "Sampler/Seed": seed}
    for seed, (radius, speed) in enumerate(
        itertools.product([0.15, 0.2, 0.25, 0.3], [600.0, 800.0, 1000.0, 1200.0, 1400.0]), start=1
    )
]


def run_address(deployed: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys that address a run: the kwargs of the per-run operators below."""
    return {"workflow_id": deployed["workflow_id"], "run_id": deployed["run_id"]}


def run_folder(run_id: str) -> ObjectStoragePath:
    """This DAG run's own folder in object storage, made if need be (read when a task runs): no
    task reads what an older DAG run left there."""
    folder = ObjectStoragePath(Variable.get("pseven_examples_base", default=BASE))
    folder = folder / "example_pseven_sweep" / re.sub(r"[^\w.-]+", "_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


with DAG(
    dag_id="example_pseven_sweep",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pseven", "example"],
    user_defined_macros={"run_folder": run_folder},
) as dag:
    # One mapped task instance per parameter set: deploy and configure each run.
    deploy = DeployRunOperator.partial(
        task_id="deploy", workflow=WORKFLOW, deferrable=True, poll_interval=POLL
    ).expand(parameters=SWEEP)
    runs = deploy.output.map(run_address)

    # Start each run and wait for it (deferred: the waits cost no worker slots); returns its results.
    # max_active_tis_per_dagrun counts deferred task instances too, so at most 8 runs of this DAG
    # run are started and unfinished on pSeven at once (a DAG's max_active_tasks would not count
    # deferred waits).
    start = StartRunOperator.partial(
        task_id="run", deferrable=True, poll_interval=POLL, timeout=3600, max_active_tis_per_dagrun=8
    ).expand_kwargs(runs)

    @task(multiple_outputs=True)
    def pick_best(
        deployed: list[dict[str, Any]], results: list[dict[str, Any]], run_id: str | None = None
    ) -> dict[str, Any]:
        """The lightest feasible design of the sweep (mapped XComs come in map-index order)."""
        designs = [
            {**run_address(d), "parameters": p, "BestMass": r["BestMass"], "BestDesign": r["BestDesign"]}
            for d, p, r in zip(deployed, SWEEP, results, strict=True)
        ]
        feasible = [d for d in designs if d["BestMass"] is not None]
        if not feasible:
            raise ValueError("No run of the sweep found a design within its stress limit")
        best = min(feasible, key=lambda d: d["BestMass"])
        (run_folder(str(run_id)) / "summary.json").write_text(
            json.dumps({"dag_id": "example_pseven_sweep", "best": best, "designs": designs}, indent=2)
        )
        print(f"Best of {len(designs)} runs: mass {best['BestMass']:.3f} kg with {best['parameters']}")
        return best

    best = pick_best(deploy.output, start.output)

    # Only the winner's plot is downloaded, before the runs are deleted.
    download = DownloadFileOperator(
        task_id="download_best_plot",
        workflow_id=best["workflow_id"],
        run_id=best["run_id"],
        file=PLOT,
        destination="{{ run_folder(run_id) }}/best-diagrams.png",
        overwrite=True,
    )

    # Delete every run once all is done, whether the sweep succeeded or not. As a teardown it
    # runs like trigger_rule="all_done", and a failure upstream still marks the DAG run failed.
    delete = DeleteRunOperator.partial(task_id="delete_run").expand_kwargs(runs).as_teardown(setups=deploy)

    download >> delete
