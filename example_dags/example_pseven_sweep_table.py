"""A design study from one task: a DOE table in object storage, swept by RunSweepOperator, plotted.

1. ``design`` writes a Latin hypercube over the DiskModel's outer radius and rotation speed as a CSV
   table into object storage (``PSEVEN_SWEEP_STORAGE``, e.g. ``s3://bucket/sweeps``; by default the
   local folder ``$PSEVEN_DEMO_OUTPUT``);
2. ``sweep`` runs every row as a pSeven run, at most 8 at once, in one task with one deferral; the
   results table (one row per point) goes beside the DOE, runs are deleted once read;
3. ``report`` reads the results table and plots the objective (the lightest feasible disk mass)
   against the outer radius, as an SVG, with the best design marked.

``PSEVEN_SWEEP_POINTS`` sets the table's size (40; ``make demo`` runs 12).
"""

from __future__ import annotations

import csv
import json
import os
import random
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_pseven.operators import RunSweepOperator

OUTPUT = os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")
STORAGE = os.environ.get("PSEVEN_SWEEP_STORAGE", f"file://{os.path.abspath(OUTPUT)}").rstrip("/")
FOLDER = STORAGE + "/example_pseven_sweep_table/{{ run_id | replace(':', '_') | replace('+', '_') }}"
POINTS = int(os.environ.get("PSEVEN_SWEEP_POINTS", "40"))
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))
RANGES = {"OuterRadius": (0.12, 0.30), "Speed": (600.0, 1400.0)}


def latin_hypercube(n: int, ranges: dict[str, tuple[float, float]], seed: int) -> list[dict[str, float]]:
    """``n`` points, one in each of ``n`` equal slices of every range, slices shuffled per axis."""
    rng = random.Random(seed)
    columns = {}
    for name, (low, high) in ranges.items():
        slices = [(i + rng.random()) / n for i in range(n)]
        rng.shuffle(slices)
        columns[name] = [round(low + s * (high - low), 5) for s in slices]
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


with DAG(
    dag_id="example_pseven_sweep_table",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pseven", "example"],
) as dag:

    @task
    def design(folder: str) -> str:
        """Write the DOE table (CSV) to object storage; return its URL for the sweep."""
        table = ObjectStoragePath(f"{folder}/doe.csv")
        table.parent.mkdir(parents=True, exist_ok=True)
        points = latin_hypercube(POINTS, RANGES, seed=7)
        with table.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=[*RANGES, "Count", "Sampler/Seed"])
            writer.writeheader()
            writer.writerows({**p, "Count": 50, "Sampler/Seed": i + 1} for i, p in enumerate(points))
        return str(table)

    sweep = RunSweepOperator(
        task_id="sweep",
        workflow="/Users/1/DiskModel.p7wf",
        parameter_sets=design(FOLDER),
        results_destination=FOLDER + "/results",
        max_active_runs=8,
        retries_per_point=1,
        max_failed_points=0.1,  # up to 10% of the points may fail without failing the study
        objective="BestMass",
        minimize=True,
        poll_interval=POLL,
        timeout=3600,
    )

    @task
    def report(summary: dict[str, Any], folder: str) -> dict[str, Any]:
        """Plot BestMass over OuterRadius from the results table; the best design in red."""
        with ObjectStoragePath(summary["table"]).open("r", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["state"] == "FINISHED" and r["result:BestMass"]]
        points = [(float(r["OuterRadius"]), float(r["result:BestMass"])) for r in rows]
        best = summary["best"]
        marked = (best["parameters"]["OuterRadius"], best["results"]["BestMass"]) if best else None
        svg = ObjectStoragePath(f"{folder}/report.svg")
        svg.write_text(scatter_svg(points, marked, "OuterRadius, m", "BestMass, kg"))
        out = {"points": summary["points"], "plotted": len(points), "plot": str(svg), "best": best}
        ObjectStoragePath(f"{folder}/summary.json").write_text(json.dumps(out, indent=2))
        return out

    report(sweep.output, FOLDER)


def scatter_svg(
    points: list[tuple[float, float]], marked: tuple[float, float] | None, xl: str, yl: str
) -> str:
    """A small scatter plot as SVG text (no plotting library needed on the worker)."""
    width, height, pad = 480, 320, 50
    xs, ys = [p[0] for p in points] or [0.0, 1.0], [p[1] for p in points] or [0.0, 1.0]
    x0, x1, y0, y1 = min(xs), max(xs) or 1.0, min(ys), max(ys) or 1.0

    def at(x: float, y: float) -> tuple[float, float]:
        sx = pad + (x - x0) / ((x1 - x0) or 1.0) * (width - 2 * pad)
        sy = height - pad - (y - y0) / ((y1 - y0) or 1.0) * (height - 2 * pad)
        return round(sx, 1), round(sy, 1)

    dots = "".join(f'<circle cx="{at(x, y)[0]}" cy="{at(x, y)[1]}" r="3" fill="#357"/>' for x, y in points)
    if marked:
        cx, cy = at(*marked)
        dots += f'<circle cx="{cx}" cy="{cy}" r="6" fill="none" stroke="#d22" stroke-width="2"/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>'
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">{xl} ({x0:.3g} to {x1:.3g})</text>'
        f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">'
        f"{yl} ({y0:.3g} to {y1:.3g})</text>{dots}</svg>"
    )
