"""Talk to a running workflow through run messaging, on a named channel.

The Chat workflow sends "ready", then answers each message it receives upper-cased, ``Rounds``
times, and finishes. Messages flow only while the run is RUNNING, so the run is started without
waiting and the DAG converses with it: push, wait for the reply (deferred), push again, ...
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, Variable, task

from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    GetRunResultsOperator,
    MessagePushOperator,
    StartRunOperator,
)
from airflow_provider_pseven.sensors import MessageSensor, RunStateSensor

# The summary goes to object storage, under the base of example_pseven_run (the Variable
# pseven_examples_base, else $PSEVEN_EXAMPLES_BASE, else demo-output/).
BASE = (
    os.environ.get("PSEVEN_EXAMPLES_BASE")
    or Path(os.environ.get("PSEVEN_DEMO_OUTPUT", "demo-output")).absolute().as_uri()
)
POLL = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))
CHANNEL = "airflow"


def run_folder(run_id: str) -> ObjectStoragePath:
    """This DAG run's own folder in object storage, made if need be (read when a task runs): no
    task reads what an older DAG run left there."""
    folder = ObjectStoragePath(Variable.get("pseven_examples_base", default=BASE))
    folder = folder / "example_pseven_messaging" / re.sub(r"[^\w.-]+", "_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


with DAG(
    dag_id="example_pseven_messaging",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pseven", "example"],
) as dag:
    deploy = DeployRunOperator(
        task_id="deploy",
        workflow="/Users/1/Chat.p7wf",
        parameters={"Channel": CHANNEL, "Rounds": 2, "Timeout": 600},
        deferrable=True,
        poll_interval=POLL,
    )
    run = {"workflow_id": deploy.output["workflow_id"], "run_id": deploy.output["run_id"]}
    # The same sensor settings for every wait (Airflow's poke_interval and timeout); timeouts bound
    # how long the DAG waits for the run. Deferred: the waits run in the triggerer.
    listen = {"channel": CHANNEL, "deferrable": True, "poke_interval": POLL, "timeout": 600, **run}

    start = StartRunOperator(task_id="start", wait_for_completion=False, **run)

    # Each MessageSensor returns the message it received (a string) as its XCom.
    ready = MessageSensor(task_id="wait_ready", **listen)
    ask = MessagePushOperator(task_id="say_hello", message="hello", channel=CHANNEL, **run)
    reply = MessageSensor(task_id="wait_reply", **listen)
    ask_again = MessagePushOperator(task_id="say_goodbye", message="goodbye", channel=CHANNEL, **run)
    reply_again = MessageSensor(task_id="wait_reply_again", **listen)

    finished = RunStateSensor(
        task_id="wait_finished", deferrable=True, poke_interval=POLL, timeout=600, **run
    )
    results = GetRunResultsOperator(task_id="results", **run)

    @task
    def write_summary(messages: list[str], results: dict, run_id: str | None = None) -> None:
        summary = {"dag_id": "example_pseven_messaging", "received": messages, "results": results}
        (run_folder(str(run_id)) / "summary.json").write_text(json.dumps(summary, indent=2))

    summary = write_summary([ready.output, reply.output, reply_again.output], results.output)

    delete = DeleteRunOperator(task_id="delete_run", **run).as_teardown(setups=deploy)

    start >> ready >> ask >> reply >> ask_again >> reply_again >> finished >> results >> summary >> delete
