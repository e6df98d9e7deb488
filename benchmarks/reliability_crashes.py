"""Reliability under crashes, with Airflow as real processes (LocalExecutor and a triggerer).

1. 50 deferred RunStateSensor tasks wait for 50 pSeven runs; the triggerer is killed with
   SIGKILL and started again: every sensor must still finish, with the right final state.
2. A worker is killed with SIGKILL while StartRunOperator (not deferred) waits for its run; the
   task's retry must wait for the same run, never start it a second time.

The emulator runs in this process, so its world (deployments, starts) can be inspected.

Usage: python benchmarks/reliability_crashes.py [--sensors 50]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_pseven.emulator import EmulatorServer  # noqa: E402
from tests.e2e.cluster import AirflowCluster  # noqa: E402

DAGS = """
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_pseven.hooks import PsevenHook
from airflow_provider_pseven.operators import DeployRunOperator, StartRunOperator
from airflow_provider_pseven.sensors import RunStateSensor
from airflow_provider_pseven.client import RunKind, RunRef, RunState

START = pendulum.datetime(2026, 1, 1)

with DAG("crash_triggerer", schedule=None, start_date=START, catchup=False) as triggerer_dag:

    @task
    def deploy_and_start(count: int, duration: float) -> list[dict]:
        client = PsevenHook().client
        workflow = client.resolve_workflow("Slow").id
        runs = []
        for index in range(count):
            run = client.deploy_run(RunKind.WORKFLOW, workflow, name=f"crash-sensor-{index}-{pendulum.now().int_timestamp}")
            ref = RunRef.workflow(workflow, run.id)
            client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.2)
            client.set_parameters(ref, {"duration": duration + index * 0.2})
            client.start_run(ref)
            runs.append({"workflow_id": workflow, "run_id": run.id})
        return runs

    RunStateSensor.partial(task_id="wait", deferrable=True, poll_interval=2.0).expand_kwargs(
        deploy_and_start(COUNT, DURATION)
    )

with DAG("crash_worker", schedule=None, start_date=START, catchup=False) as worker_dag:
    deploy = DeployRunOperator(task_id="deploy", workflow="Slow", parameters={"duration": 45.0})
    StartRunOperator(
        task_id="start",
        workflow_id=deploy.output["workflow_id"],
        run_id=deploy.output["run_id"],
        deferrable=False,
        poll_interval=1.0,
        retries=2,
        retry_delay=timedelta(seconds=1),
    )
"""


def deferred_count(cluster: AirflowCluster, dag_id: str, run_id: str) -> int:
    items = cluster.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    return sum(1 for ti in items["task_instances"] if ti["task_id"] == "wait" and ti["state"] == "deferred")


def mapped_states(cluster: AirflowCluster, dag_id: str, run_id: str) -> list[str]:
    items = cluster.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
    return [str(ti["state"]) for ti in items["task_instances"] if ti["task_id"] == "wait"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds each watched run takes")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="pseven-crashes-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "crash_dags.py").write_text(
        textwrap.dedent(DAGS).replace("COUNT", str(args.sensors)).replace("DURATION", str(args.duration))
    )
    rows = []
    with EmulatorServer(time_scale=1.0, max_workers=args.sensors + 20) as emulator:
        cluster = AirflowCluster(
            home,
            dags,
            {
                "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json(),
                "AIRFLOW__CORE__PARALLELISM": "16",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            },
        )
        try:
            cluster.start()
            # 1. The triggerer dies while it holds every sensor's trigger.
            run_id = cluster.trigger("crash_triggerer")
            cluster.wait(
                lambda: deferred_count(cluster, "crash_triggerer", run_id) == args.sensors,
                300,
                f"{args.sensors} sensors deferring",
            )
            cluster.kill("triggerer")
            killed_at = time.time()
            time.sleep(5)
            cluster.launch("triggerer")
            state = cluster.wait_for_run("crash_triggerer", run_id, timeout=600)
            states = mapped_states(cluster, "crash_triggerer", run_id)
            finished = sum(1 for s in states if s == "success")
            rows.append(
                (
                    f"kill -9 the triggerer holding {args.sensors} deferred RunStateSensor tasks, restart it 5 s later",
                    f"DAG run {state}; {finished} of {args.sensors} sensors succeeded, "
                    f"all done {time.time() - killed_at:.0f} s after the kill",
                )
            )
            # 2. A worker dies while StartRunOperator waits for the run it started.
            run_id = cluster.trigger("crash_worker")
            cluster.wait(
                lambda: cluster.task_state("crash_worker", run_id, "start") == "running", 300, "start running"
            )
            cluster.wait(
                lambda: emulator.state.event_count("start") >= 1 + args.sensors, 120, "the run starting"
            )
            time.sleep(2)
            # The task process is titled "airflow worker -- <task instance id>"; its parent is the
            # LocalExecutor worker supervising it. Both die.
            ti_id = cluster.api("GET", f"dags/crash_worker/dagRuns/{run_id}/taskInstances/start")["id"]
            task_processes = [
                p
                for p in psutil.process_iter(["pid", "cmdline"])
                if ti_id in " ".join(p.info["cmdline"] or [])
            ]
            scheduler_pid = cluster.processes["scheduler"].pid
            parents = {p.parent() for p in task_processes} - {None}
            victims = task_processes + [
                p for p in parents if p.pid != scheduler_pid and p not in task_processes
            ]
            titles = sorted({" ".join(p.cmdline())[:60] for p in victims})
            for process in victims:
                process.kill()
            state = cluster.wait_for_run("crash_worker", run_id, timeout=600)
            tries = cluster.api("GET", f"dags/crash_worker/dagRuns/{run_id}/taskInstances/start")[
                "try_number"
            ]
            pseven_runs = [
                d["run_id"] for _, kind, d in emulator.state.events if kind == "deploy" and d.get("owner_id")
            ][args.sensors :]
            starts = [emulator.state.start_count(r) for r in pseven_runs]
            rows.append(
                (
                    f"kill -9 the worker of StartRunOperator while it waits ({len(victims)} processes: {titles})",
                    f"DAG run {state} after {tries} tries; the pSeven run was started {starts} time(s)",
                )
            )
        finally:
            cluster.stop()
    shutil.rmtree(home, ignore_errors=True)
    print(f"\n`{' '.join([Path(sys.executable).name, *sys.argv])}`\n")
    print("| crash | outcome |\n|---|---|")
    for crash, outcome in rows:
        print(f"| {crash} | {outcome} |")


if __name__ == "__main__":
    main()
