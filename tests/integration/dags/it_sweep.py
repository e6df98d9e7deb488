"""Integration DAG for the sweep operator: an upstream task's list of parameter sets, swept deferred."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_pseven.operators import RunSweepOperator

with DAG("it_sweep", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:

    @task
    def design() -> list[dict[str, float]]:
        return [{"OuterRadius": 0.15 + 0.02 * i, "Speed": 800.0 + 100 * i, "Count": 20} for i in range(5)]

    RunSweepOperator(
        task_id="sweep",
        workflow="/Users/1/DiskModel.p7wf",
        parameter_sets=design(),
        results_destination=os.environ.get("PSEVEN_IT_SWEEP_OUT", "/tmp/it_sweep") + "/{{ run_id }}",
        max_active_runs=2,
        poll_interval=0.2,
        objective="BestMass",
    )
