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
    """The little of a task instance that StartRunOperator touches: its extra link's XCom, and the
    ids the link's tab path is made of."""

    dag_id = "on_kill"
    run_id = "manual__1"
    task_id = "start"
    map_index = -1

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


@pytest.mark.pseven_emulator(time_scale=1.0, start_delay=2.0)
def test_a_timeout_in_the_queue_hands_the_run_to_a_trigger_that_interrupts_it(pseven_connection: Any) -> None:
    """The guide allows neither interrupt nor delete in QUEUED_TO_RUN: the timed-out task defers to a
    QueuedRunTrigger, run here as the triggerer runs it, which interrupts the run once it runs."""
    import asyncio

    from airflow_provider_pseven.compat import AirflowException, TaskDeferred

    client = PsevenHook().client
    slow = client.resolve_workflow("Slow")
    run = client.deploy_run(RunKind.WORKFLOW, slow.id)
    ref = RunRef.workflow(slow.id, run.id)
    client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.05, deadline=time.time() + 30)
    client.set_parameters(ref, {"duration": 600.0})
    task = StartRunOperator(
        task_id="start", deferrable=False, poll_interval=0.2, timeout=0.5, **ref.as_dict()
    )
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({"ti": _TaskInstance(), "task_state_store": None})
    assert client.get_run(ref).state is RunState.QUEUED_TO_RUN  # timed out in the queue

    async def first_event() -> Any:
        async for event in deferred.value.trigger.run():
            return event.payload

    event = asyncio.run(first_event())
    assert client.get_run(ref).state is RunState.INTERRUPTED
    with pytest.raises(AirflowException) as failed:
        getattr(task, deferred.value.method_name)({}, event, **(deferred.value.kwargs or {}))
    message = str(failed.value)
    assert f"Timed out after 0.5 s waiting for pSeven run {ref.run_id}" in message
    assert f"({run.url}) was QUEUED_TO_RUN, so it was watched" in message
    assert "left the queue and was interrupted as soon as it was RUNNING" in message
