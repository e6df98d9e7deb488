"""RunWorkflowOperator: the whole cycle, its two deferrals (resume_configured, resume_finished), and
delete_after even when the run failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests_mock
from af_support import (
    P2_ID,
    PSEVEN,
    RUN_ID,
    RUN_URL,
    RUNS_URL,
    WF_ID,
    FakeClock,
    FakeRun,
    FakeStore,
    FakeTI,
    make_context,
    param_json,
    sent,
    sent_to,
    std_log,
    workflow_json,
)

from airflow_provider_pseven.client import PsevenBadRequestError, PsevenConfigError
from airflow_provider_pseven.compat import AirflowException, AirflowFailException, TaskDeferred
from airflow_provider_pseven.operators import RunWorkflowOperator
from airflow_provider_pseven.tasks.runs import RUN_KEY
from airflow_provider_pseven.triggers import RunStateTrigger
from tests.support.api_json import RUN2_ID

RESULTS = [param_json("r1", "y", 6.25, "Real")]


def fake_server(
    m: requests_mock.Mocker, *states: str, clock: FakeClock | None = None, **kwargs: Any
) -> FakeRun:
    m.get(f"{PSEVEN}workflows/{WF_ID}/", json=workflow_json())
    run = FakeRun(m, *states, clock=clock, results=RESULTS, **kwargs)
    m.get(RUNS_URL, json=[])
    m.post(RUNS_URL, json=lambda request, context: run.as_json(), status_code=201)
    return run


def workflow_op(**kwargs: Any) -> RunWorkflowOperator:
    kwargs.setdefault("deferrable", True)
    return std_log(RunWorkflowOperator(task_id="task_1", workflow=WF_ID, **kwargs))


def event(status: str, state: str, message: str = "") -> dict[str, Any]:
    payload = {"workflow_id": WF_ID, "run_id": RUN_ID, "state": state}
    return {"status": status, "state": state, "payload": payload, "message": message}


def test_first_deferral_waits_for_configuration(requests_mock: requests_mock.Mocker) -> None:
    fake_server(requests_mock, "QUEUED_TO_INITIALIZE")
    store = FakeStore()
    with pytest.raises(TaskDeferred) as deferred:
        workflow_op(parameters={"x": 2.0}).execute(make_context(store))
    assert deferred.value.method_name == "resume_configured"
    trigger = deferred.value.trigger
    assert isinstance(trigger, RunStateTrigger)
    assert trigger.target_states == ["CONFIGURATION"]
    assert trigger.ref.run_id == RUN_ID
    assert store.get(RUN_KEY)["run_id"] == RUN_ID
    assert sent(requests_mock, "PATCH") == []  # parameters wait for CONFIGURATION


def test_resume_configured_prepares_starts_and_defers_again(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    run = fake_server(requests_mock, "CONFIGURATION")
    upload = requests_mock.post(
        f"{RUN_URL}upload/", json={"uploaded_files": ["in.txt"], "uploaded_directories": []}
    )
    (tmp_path / "in.txt").write_text("data")
    op = workflow_op(parameters={"x": 2.0}, files=[str(tmp_path / "in.txt")])
    ti = FakeTI()
    with pytest.raises(TaskDeferred) as deferred:
        op.resume_configured(make_context(ti=ti), event("success", "CONFIGURATION"))
    assert ti.pushed["uploaded_urls"] == [
        "pseven://p7.test/Users/1/ToyWorkflow.p7wf/@Runs/run-1.p7run/in.txt"
    ]
    assert deferred.value.method_name == "resume_finished"
    assert deferred.value.trigger.target_states == ["FINISHED"]
    [patch] = sent(requests_mock, "PATCH")
    assert {p["id"]: p["value"]["data"] for p in patch.json()["parameters"]}[P2_ID] == 2.0
    assert upload.call_count == 1
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1
    assert run.state == "QUEUED_TO_RUN"


def test_resume_configured_on_a_run_already_started_does_not_prepare_or_start(
    requests_mock: requests_mock.Mocker,
) -> None:
    fake_server(requests_mock, "RUNNING")
    with pytest.raises(TaskDeferred) as deferred:
        workflow_op(parameters={"x": 2.0}).resume_configured(
            make_context(), event("success", "CONFIGURATION")
        )
    assert deferred.value.method_name == "resume_finished"
    assert sent(requests_mock, "PATCH") == []
    assert sent(requests_mock, "POST") == []


def test_resume_finished_collects_results_downloads_and_deletes(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    run = fake_server(requests_mock, "FINISHED", files={"out/result.txt": b"42"})
    op = workflow_op(downloads={"out/result.txt": str(tmp_path) + "/"}, delete_after=True)
    ti = FakeTI()
    assert op.resume_finished(make_context(ti=ti), event("success", "FINISHED")) == {"y": 6.25}
    assert (tmp_path / "result.txt").read_bytes() == b"42"
    assert ti.pushed["downloaded_urls"] == [(tmp_path / "result.txt").as_uri()]
    assert run.gone
    assert len(sent(requests_mock, "DELETE")) == 1


def test_resume_finished_keeps_the_run_without_delete_after(requests_mock: requests_mock.Mocker) -> None:
    run = fake_server(requests_mock, "FINISHED")
    assert workflow_op().resume_finished(make_context(), event("success", "FINISHED")) == {"y": 6.25}
    assert not run.gone
    assert sent(requests_mock, "DELETE") == []


@pytest.mark.parametrize("state", ["FAILED", "INTERRUPTED"])
def test_delete_after_deletes_a_failed_run_and_still_fails(
    requests_mock: requests_mock.Mocker, state: str
) -> None:
    run = fake_server(requests_mock, state)
    requests_mock.get(f"{RUN_URL}download/", text="error: license expired\n")
    with pytest.raises(AirflowException, match=f"ended {state}"):
        workflow_op(delete_after=True).resume_finished(
            make_context(), event("failed", state, f"run {RUN_ID} ended {state}")
        )
    assert run.gone
    assert len(sent(requests_mock, "DELETE")) == 1


@pytest.mark.parametrize("state", ["FAILED", "INTERRUPTED"])
def test_a_failed_run_is_retryable_and_says_why(requests_mock: requests_mock.Mocker, state: str) -> None:
    """Issue 16, items 2 and 3: Airflow's retries rerun a flaky workflow, and the exception (what
    callbacks, alert e-mails and the UI show) carries the run's state and its log's error lines."""
    fake_server(requests_mock, state)
    log = "\n".join(f"2026-01-01 step {i}" for i in range(30))
    log += "\nError: parameter 'MyFirstParameter' has the value 'fail'\nRun failed\n"
    requests_mock.get(f"{RUN_URL}download/", text=log)
    with pytest.raises(AirflowException) as raised:
        workflow_op().resume_finished(make_context(), event("failed", state, f"run {RUN_ID} ended {state}"))
    assert not isinstance(raised.value, AirflowFailException)
    message = str(raised.value)
    assert f"run {RUN_ID} ended {state}" in message
    assert "Error: parameter 'MyFirstParameter' has the value 'fail'" in message
    assert "step 3" not in message  # the error lines, not the whole log


def test_retry_failed_runs_false_fails_at_once(requests_mock: requests_mock.Mocker) -> None:
    fake_server(requests_mock, "FAILED")
    requests_mock.get(f"{RUN_URL}download/", text="Error: boom\n")
    with pytest.raises(AirflowFailException, match="Error: boom"):
        workflow_op(retry_failed_runs=False).resume_finished(
            make_context(), event("failed", "FAILED", f"run {RUN_ID} ended FAILED")
        )


def test_a_retry_after_a_failed_run_deploys_a_new_run(
    requests_mock: requests_mock.Mocker, clock: FakeClock
) -> None:
    fake_server(requests_mock, "FAILED")
    store = FakeStore({RUN_KEY: {"parent_id": WF_ID, "name": "earlier", "run_id": RUN_ID}})
    fresh = FakeRun(requests_mock, "CONFIGURATION", run_id=RUN2_ID, name="new")
    requests_mock.post(RUNS_URL, json=lambda request, context: fresh.as_json(), status_code=201)
    with pytest.raises(TaskDeferred):
        workflow_op().execute(make_context(store))
    assert len(sent_to(requests_mock, "POST", RUNS_URL)) == 1
    assert store.get(RUN_KEY)["run_id"] == RUN2_ID


def test_delete_after_deletes_when_initialization_failed(requests_mock: requests_mock.Mocker) -> None:
    run = fake_server(requests_mock, "FAILED")
    requests_mock.get(f"{RUN_URL}download/", status_code=404, json={"detail": "none"})
    with pytest.raises(AirflowException):
        workflow_op(delete_after=True).resume_configured(
            make_context(), event("failed", "FAILED", f"run {RUN_ID} ended FAILED")
        )
    assert run.gone
    assert sent(requests_mock, "POST") == []


def test_a_missing_local_file_fails_before_anything_is_deployed(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    fake_server(requests_mock, "CONFIGURATION")
    with pytest.raises(PsevenConfigError, match="the local file is missing"):
        workflow_op(files=[str(tmp_path / "nope.csv")]).execute(make_context())
    assert sent(requests_mock, "POST") == []


def test_an_upload_refused_by_the_server_deletes_the_run(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    run = fake_server(requests_mock, "CONFIGURATION")
    requests_mock.post(f"{RUN_URL}upload/", status_code=400, json={"detail": "Destination outside the run."})
    (tmp_path / "in.txt").write_text("data")
    op = workflow_op(files=[str(tmp_path / "in.txt")], upload_destination="/elsewhere")
    with pytest.raises(PsevenBadRequestError):
        op.resume_configured(make_context(), event("success", "CONFIGURATION"))
    assert run.gone


def test_a_timeout_interrupts_and_deletes_with_delete_after(requests_mock: requests_mock.Mocker) -> None:
    run = fake_server(requests_mock, "RUNNING")
    with pytest.raises(AirflowException, match="Timed out after 60 s"):
        workflow_op(delete_after=True, timeout=60).resume_finished(
            make_context(), event("timeout", "RUNNING", "still RUNNING")
        )
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/")) == 1
    assert run.gone


def test_whole_cycle_without_deferring(
    requests_mock: requests_mock.Mocker, clock: FakeClock, tmp_path: Path
) -> None:
    run = fake_server(
        requests_mock, "QUEUED_TO_INITIALIZE", "CONFIGURATION", clock=clock, files={"report.txt": b"ok"}
    )
    result = workflow_op(
        deferrable=False,
        parameters={"label": "nightly"},
        downloads={"report.txt": str(tmp_path / "r.txt")},
        delete_after=True,
        poll_interval=5,
    ).execute(make_context())
    assert result == {"y": 6.25}
    assert (tmp_path / "r.txt").read_bytes() == b"ok"
    assert run.gone
    assert len(sent_to(requests_mock, "POST", RUNS_URL)) == 1
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1
    assert run.parameters[0]["value"]["data"] == "nightly"


def test_retry_of_a_started_run_neither_deploys_nor_starts_again(
    requests_mock: requests_mock.Mocker, clock: FakeClock
) -> None:
    fake_server(requests_mock, "RUNNING", "FINISHED", clock=clock)
    store = FakeStore({RUN_KEY: {"parent_id": WF_ID, "name": "earlier", "run_id": RUN_ID}})
    result = workflow_op(deferrable=False, parameters={"x": 1.5}).execute(make_context(store))
    assert result == {"y": 6.25}
    assert sent_to(requests_mock, "POST", RUNS_URL) == []
    assert sent_to(requests_mock, "POST", f"{RUN_URL}run/") == []
    assert sent(requests_mock, "PATCH") == []
    assert store.get(RUN_KEY) is None  # done: a clear of this task runs the workflow anew


def test_a_cleared_task_runs_the_workflow_anew(requests_mock: requests_mock.Mocker, clock: FakeClock) -> None:
    """Issue 11, defect 4: clearing a successful RunWorkflowOperator returned the old results."""
    fake_server(requests_mock, "CONFIGURATION", clock=clock)
    store = FakeStore()
    workflow_op(deferrable=False).execute(make_context(store))
    workflow_op(deferrable=False).execute(make_context(store))
    assert len(sent_to(requests_mock, "POST", RUNS_URL)) == 2


def test_run_workflow_arguments() -> None:
    with pytest.raises(ValueError, match="exactly one of workflow"):
        RunWorkflowOperator(task_id="t")
    with pytest.raises(ValueError, match="poll_interval must be a positive number"):
        RunWorkflowOperator(task_id="t", workflow=WF_ID, poll_interval=0)
    assert {"workflow", "app", "parameters", "files", "downloads", "pseven_conn_id"} <= set(
        RunWorkflowOperator.template_fields
    )
