"""Killing a task that waits without deferring interrupts its pSeven run: a real wait, a real kill."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from airflow_provider_pseven.client import RunKind, RunRef, RunState
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.hooks import PsevenHook
from airflow_provider_pseven.operators import StartRunOperator

pytestmark = pytest.mark.integration


class _TaskInstance:
    """The little of a task instance that StartRunOperator touches (its extra link's XCom)."""

    def xcom_push(self, key: str, value: Any) -> None:
        return None


def test_killing_a_waiting_start_interrupts_the_run(pseven_connection: Any) -> None:
    client = PsevenHook().client
    slow = client.resolve_workflow("Slow")
    run = client.deploy_run(RunKind.WORKFLOW, slow.id)
    ref = RunRef.workflow(slow.id, run.id)
    client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.05, deadline=time.time() + 30)
    client.set_parameters(ref, {"duration": 600.0})
    task = StartRunOperator(task_id="start", deferrable=False, poll_interval=0.1, **ref.as_dict())
    ended: list[BaseException] = []

    def execute() -> None:
        try:
            task.execute({"ti": _TaskInstance(), "task_state_store": None})
        except BaseException as error:  # how the wait ended
            ended.append(error)

    waiting = threading.Thread(target=execute, daemon=True)
    waiting.start()
    client.wait_for_run(ref, [RunState.RUNNING], interval=0.05, deadline=time.time() + 30)
    time.sleep(0.3)  # the task is inside its wait now

    task.on_kill()  # what Airflow calls when a user marks the running task failed

    waiting.join(timeout=30)
    assert not waiting.is_alive(), "the wait did not end after the kill"
    assert client.get_run(ref).state is RunState.INTERRUPTED
    assert len(ended) == 1 and isinstance(ended[0], AirflowFailException)  # the wait saw the run stop
