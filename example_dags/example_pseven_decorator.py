"""A design sweep written with ``@task.pseven``: cases prepared in Python, one pSeven run per case
(a mapped decorated task), and a report.

1. ``prepare_cases`` (plain Python) turns the operating requirements into design cases and writes
   them to ``cases.csv``, for the record.
2. ``disk_case`` (``@task.pseven``, mapped with ``.partial()`` and ``.expand()``) returns one
   case's parameters; the task then deploys a DiskModel run, sets them, starts it, waits in the
   triggerer, downloads the run's design table, deletes the run and returns the results.
3. ``report`` reads the results and the downloaded tables and writes ``summary.json``.

Every file goes through object storage under ``<base>/example_pseven_decorator/<DAG run id>/``
(the base as in example_pseven_run: Variable ``pseven_examples_base``, else
``$PSEVEN_EXAMPLES_BASE``, else ``demo-output/``), so the tasks may run on different machines.
The same sweep with the step operators is example_pseven_sweep.py; docs/patterns.md compares them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, Variable, task

BASE = (
    os.environ.get("PSEVEN_EXAMPLES_BASE")
    or Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute().as_uri()
)
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))
DESIGN_TABLE = "🏠.Disk Model [0001].p7wd/design.csv"  # written by the workflow in its run directory
# The operating requirements: rotation speeds (rpm) the disk must survive, with a safety factor.
SPEEDS_RPM = [6000, 9000, 12000]
OUTER_RADII = [0.2, 0.25]
SAFETY = 1.2


def run_folder(run_id: str) -> ObjectStoragePath:
    """This DAG run's own folder in object storage, made if need be (read when a task runs)."""
    folder = ObjectStoragePath(Variable.get("pseven_examples_base", default=BASE))
    folder = folder / "example_pseven_decorator" / re.sub(r"[^\w.-]+", "_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


with DAG(
    dag_id="example_pseven_decorator",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pseven", "example"],
    user_defined_macros={"run_folder": run_folder},
) as dag:

    @task
    def prepare_cases(run_id: str | None = None) -> list[dict[str, Any]]:
        """Data preparation in Python: one case per radius and speed, speeds in rad/s with margin."""
        cases = [
            {"case": f"r{radius:g}-{rpm}rpm", "OuterRadius": radius, "Speed": rpm * SAFETY * 2 * 3.14159 / 60}
            for radius in OUTER_RADII
            for rpm in SPEEDS_RPM
        ]
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(cases[0]))
        writer.writeheader()
        writer.writerows(cases)
        (run_folder(str(run_id)) / "cases.csv").write_text(table.getvalue())
        return cases

    # Each mapped task instance runs one case. Its arguments are RunWorkflowOperator's: what to run,
    # how to wait, what to download (templated: each case's table to its own file) and the clean-up.
    # max_active_tis_per_dagrun counts deferred waits too: at most 4 runs at once on pSeven.
    @task.pseven(
        workflow="/Users/1/DiskModel.p7wf",
        downloads={DESIGN_TABLE: "{{ run_folder(run_id) }}/designs/{{ ti.map_index }}.csv"},
        overwrite=True,
        delete_after=True,
        deferrable=True,
        poll_interval=POLL,
        timeout=3600,
        max_active_tis_per_dagrun=4,
    )
    def disk_case(case: dict[str, Any], samples: int) -> dict[str, Any]:
        """The run's parameters {name or id: value}. "Sampler/Seed" needs its block prefix: the
        Optimizer block has a "Seed" too."""
        return {
            "OuterRadius": case["OuterRadius"],
            "Speed": case["Speed"],
            "Count": samples,
            "Sampler/Seed": 7,
        }

    cases = prepare_cases()
    # .partial() fixes an argument for every case; .expand() maps over the cases: one run each.
    results = disk_case.partial(samples=50).expand(case=cases)

    @task
    def report(
        cases: list[dict[str, Any]], results: list[dict[str, Any]], run_id: str | None = None
    ) -> dict[str, Any]:
        """The lightest feasible design over the sweep, from the results (XCom) and the design
        tables the sweep downloaded (object storage; mapped XComs come in map-index order)."""
        folder = run_folder(str(run_id))
        rows = []
        for index, (case, result) in enumerate(zip(cases, results, strict=True)):
            table = (folder / "designs" / f"{index}.csv").read_text()
            sampled = sum(1 for _ in csv.DictReader(io.StringIO(table)))
            rows.append({**case, "BestMass": result["BestMass"], "sampled": sampled})
        feasible = [row for row in rows if row["BestMass"] is not None]
        if not feasible:
            raise ValueError("No case of the sweep found a design within its stress limit")
        best = min(feasible, key=lambda row: row["BestMass"])
        summary = {"dag_id": "example_pseven_decorator", "best": best, "cases": rows}
        (folder / "summary.json").write_text(json.dumps(summary, indent=2))
        print(f"Best of {len(rows)} cases: {best['case']}, mass {best['BestMass']:.3f} kg")
        return best

    report(cases, results)
