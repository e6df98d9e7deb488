"""DAGs for the production-shaped cluster (tests/cluster): CeleryExecutor, two triggerers.

The runs they watch belong to the emulator's ``Gate`` workflow (registered by the test): a run of
it stays RUNNING until the test opens the gate its ``gate`` parameter names, so the test decides
when the waits end, whatever the machine's speed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, get_current_context, task

from airflow_provider_pseven.operators import DeployRunOperator, StartRunOperator
from airflow_provider_pseven.sensors import RunStateSensor

START = pendulum.datetime(2026, 1, 1)
WAIT_TIMEOUT = 3600.0  # the sensors' deadline: must be the same before and after a takeover

with DAG(
    "cluster_scale", schedule=None, start_date=START, catchup=False, params={"count": 200, "gate": "scale"}
):

    @task
    def deploy_and_start() -> list[dict[str, Any]]:
        """Deploy and start ``count`` runs of Gate: the runs the sensors wait for."""
        from airflow_provider_pseven.client import RunKind, RunRef, RunState
        from airflow_provider_pseven.hooks import PsevenHook

        params = get_current_context()["params"]
        client = PsevenHook().client
        workflow = client.resolve_workflow("Gate").id
        stamp = pendulum.now().int_timestamp
        # Deploy them all first: they reach CONFIGURATION together instead of one after another.
        refs = [
            RunRef.workflow(
                workflow,
                client.deploy_run(
                    RunKind.WORKFLOW, workflow, name=f"cluster-{params['gate']}-{index}-{stamp}"
                ).id,
            )
            for index in range(int(params["count"]))
        ]
        for ref in refs:
            client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.1)
            client.set_parameters(ref, {"gate": params["gate"]})
            client.start_run(ref)
        return [{"workflow_id": workflow, "run_id": ref.run_id} for ref in refs]

    RunStateSensor.partial(
        task_id="wait", deferrable=True, poll_interval=2.0, timeout=WAIT_TIMEOUT
    ).expand_kwargs(deploy_and_start())

with DAG("cluster_worker_loss", schedule=None, start_date=START, catchup=False):
    deploy = DeployRunOperator(task_id="deploy", workflow="Gate", parameters={"gate": "worker"})
    # Not deferred: the wait holds a Celery worker slot, so killing that worker kills the wait.
    StartRunOperator(
        task_id="start",
        workflow_id=deploy.output["workflow_id"],
        run_id=deploy.output["run_id"],
        deferrable=False,
        poll_interval=1.0,
        retries=2,
        retry_delay=timedelta(seconds=1),
    )

with DAG("cluster_cancel", schedule=None, start_date=START, catchup=False):
    gated = DeployRunOperator(task_id="deploy", workflow="Gate", parameters={"gate": "cancel"})
    StartRunOperator(
        task_id="start",
        workflow_id=gated.output["workflow_id"],
        run_id=gated.output["run_id"],
        deferrable=True,
        poll_interval=1.0,
    )
