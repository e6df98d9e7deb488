"""No run left unwatched: a timeout or a kill that finds the run QUEUED_TO_RUN (where the guide
allows neither interrupt nor delete) hands it to a trigger, or says in the log what is left."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests_mock
from af_support import (
    PSEVEN,
    RUN_ID,
    RUN_URL,
    RUNS_URL,
    WF_ID,
    FakeClock,
    FakeRun,
    make_context,
    run_json,
    sent_to,
    std_log,
)
from af_support import workflow_json as wf_json

from airflow_provider_pseven.client import RunRef
from airflow_provider_pseven.client.outcomes import QUEUED_WATCH_LIMIT
from airflow_provider_pseven.compat import AirflowException, TaskDeferred
from airflow_provider_pseven.operators import RunWorkflowOperator, StartRunOperator
from airflow_provider_pseven.triggers import QueuedRunTrigger

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}
STUDIO_URL = run_json("QUEUED_TO_RUN")["url"]  # the run's own ``url``, as its details give it


def event(status: str, state: str, message: str = "") -> dict[str, Any]:
    payload = {"workflow_id": WF_ID, "run_id": RUN_ID, "state": state}
    return {"status": status, "state": state, "payload": payload, "message": message}


def start_op(**kwargs: Any) -> StartRunOperator:
    return std_log(StartRunOperator(task_id="s", deferrable=False, poll_interval=5, **IDS, **kwargs))


def test_a_timeout_with_the_run_queued_defers_to_a_watch_that_interrupts_it(
    requests_mock: requests_mock.Mocker, clock: FakeClock
) -> None:
    FakeRun(requests_mock, "QUEUED_TO_RUN")
    with pytest.raises(TaskDeferred) as deferred:
        start_op(timeout=600).execute_complete(
            make_context(), event("timeout", "QUEUED_TO_RUN", "still queued")
        )
    trigger = deferred.value.trigger
    assert isinstance(trigger, QueuedRunTrigger)
    assert trigger.ref.run_id == RUN_ID
    assert trigger.deadline == pytest.approx(clock.time() + QUEUED_WATCH_LIMIT)
    assert deferred.value.method_name == "resume_after_queued"
    assert deferred.value.kwargs["message"].startswith(
        f"Timed out after 600 s waiting for pSeven run {RUN_ID}"
    )
    assert deferred.value.kwargs["url"] == STUDIO_URL
    assert sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/") == []  # the guide allows none there
    # The trigger survives serialization (the triggerer rebuilds it from this).
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_pseven.triggers.queued_run.QueuedRunTrigger"
    assert QueuedRunTrigger(**kwargs).serialize() == (path, kwargs)


def test_the_end_of_the_watch_fails_the_task_naming_run_url_and_what_was_done(
    requests_mock: requests_mock.Mocker,
) -> None:
    done = f"run {RUN_ID} left the queue and was interrupted as soon as it was RUNNING"
    with pytest.raises(AirflowException) as raised:
        start_op(timeout=600).resume_after_queued(
            make_context(),
            event("success", "INTERRUPTED", done),
            message="Timed out after 600 s",
            url=RUN_URL,
        )
    assert str(raised.value) == (
        f"Timed out after 600 s. The run ({RUN_URL}) was QUEUED_TO_RUN, so it was watched: {done}"
    )


def test_a_kill_with_the_run_still_queued_names_it_in_the_log(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    FakeRun(requests_mock, "QUEUED_TO_RUN")
    op = start_op()
    op._waiting_on = RunRef.workflow(WF_ID, RUN_ID)  # as during a non-deferred wait
    caplog.set_level(logging.INFO)
    op.on_kill()
    [record] = [r for r in caplog.records if "will run unwatched" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert f"pSeven run {RUN_ID} ({STUDIO_URL}) is QUEUED_TO_RUN" in record.getMessage()
    assert sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/") == []


def test_run_workflow_with_delete_after_deletes_only_once_the_queued_runs_watch_ended(
    requests_mock: requests_mock.Mocker,
) -> None:
    requests_mock.get(f"{PSEVEN}workflows/{WF_ID}/", json=wf_json())
    requests_mock.get(RUNS_URL, json=[])
    run = FakeRun(requests_mock, "QUEUED_TO_RUN")
    op = std_log(RunWorkflowOperator(task_id="task_1", workflow=WF_ID, delete_after=True, timeout=60))
    with pytest.raises(TaskDeferred):
        op.resume_finished(make_context(), event("timeout", "QUEUED_TO_RUN", "still queued"))
    assert not run.gone  # no teardown in the worker: the trigger watches the run
    run.set_states("INTERRUPTED")
    with pytest.raises(AirflowException, match="was QUEUED_TO_RUN, so it was watched"):
        op.resume_after_queued(
            make_context(), event("success", "INTERRUPTED", "interrupted"), message="Timed out", url=RUN_URL
        )
    assert run.gone
