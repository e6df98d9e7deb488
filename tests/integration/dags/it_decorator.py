"""Integration DAGs of ``@task.pseven``: a mapped sweep with an uploaded file and a Secret, and the
bad-input cases (a wrong return shape, a parameter the workflow does not have)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, task

OUT = os.environ.get("PSEVEN_IT_OUTPUT", "/tmp/pseven-it-output")
DEFERRABLE = os.environ.get("PSEVEN_IT_DEFERRABLE", "true") == "true"
SECRET = os.environ.get("PSEVEN_IT_SECRET", "it-decorator-secret")
START = pendulum.datetime(2026, 1, 1)
RUN = {"poll_interval": 0.2, "deferrable": DEFERRABLE, "delete_after": True}

with DAG("it_decorator_sweep", schedule=None, start_date=START, catchup=False) as sweep_dag:

    @task
    def prepare() -> list[float]:
        return [1.5, 2.5, 3.5]

    @task
    def write_input() -> str:
        path = Path(OUT) / "decorator-input.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a\nb\nc\n")
        return str(path)

    @task.pseven(
        workflow="ToyWorkflow",
        files=["{{ ti.xcom_pull(task_ids='write_input') }}"],
        upload_destination="inputs",
        secret_parameters=["MySecret"],
        **RUN,
    )
    def point(value: float, label: str, ti: Any = None) -> dict[str, Any]:
        """One design point: its parameters, computed in Python."""
        return {
            "MyFirstParameter": f"{label} {ti.map_index}",
            "MySecondParameter": value * 2,
            "MySecret": SECRET,
        }

    @task
    def report(results: list[dict[str, Any]]) -> dict[str, Any]:
        return {"points": len(results), "total": sum(r["MySecondParameter"] for r in results)}

    results = point.partial(label="point").expand(value=prepare())
    write_input() >> results
    report(results)

with DAG("it_decorator_bad_shape", schedule=None, start_date=START, catchup=False) as bad_shape_dag:

    @task.pseven(workflow="ToyWorkflow", **RUN)
    def not_a_dict() -> Any:
        return [("MyFirstParameter", "x")]

    not_a_dict()

with DAG("it_decorator_unknown", schedule=None, start_date=START, catchup=False) as unknown_dag:
    # retries=1: on Airflow 3.3+ the retry policy fails a mistake at once; before, the retry runs
    # (and deletes its own run again).
    @task.pseven(
        workflow="ToyWorkflow",
        poll_interval=0.2,
        deferrable=DEFERRABLE,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
    def unknown() -> dict[str, Any]:
        return {"MyFirstParameter": "x", "NoSuchParameter": 1}

    unknown()
