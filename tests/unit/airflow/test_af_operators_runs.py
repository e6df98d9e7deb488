"""Run lifecycle operators: deploy, parameters, start, results, interrupt, delete (requests-mock)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import jinja2
import pytest
import requests
import requests_mock
from af_support import (
    APP_ID,
    APPSHUB,
    DEFAULT_RUN_NAME,
    P1_ID,
    P2_ID,
    PSEVEN,
    RUN_ID,
    RUN_URL,
    RUNS_URL,
    SECRET_VALUE,
    WF_ID,
    FakeClock,
    FakeRun,
    FakeStore,
    FakeTI,
    app_json,
    make_context,
    param_json,
    polls,
    run_json,
    runs_url,
    sent,
    sent_to,
    std_log,
    workflow_json,
)

from airflow_provider_pseven.client import (
    PsevenConfigError,
    PsevenLookupError,
    PsevenRequestMayHaveSucceeded,
    PsevenServerError,
)
from airflow_provider_pseven.client.appshub import PsevenAppVersionError
from airflow_provider_pseven.compat import AirflowException, AirflowFailException, TaskDeferred
from airflow_provider_pseven.links import ADDRESS_KEY, PsevenRunLink
from airflow_provider_pseven.operators import (
    DeleteRunOperator,
    DeployRunOperator,
    GetRunResultsOperator,
    InterruptRunOperator,
    MessagePushOperator,
    PatchParametersOperator,
    StartRunOperator,
)
from airflow_provider_pseven.tasks.runs import RUN_KEY, default_run_name
from airflow_provider_pseven.triggers import RunStateTrigger
from tests.support.api_json import RUN2_ID

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}
RESULTS = [param_json("r1", "y", 2.5, "Real"), param_json("r2", "token_out", "", "Secret")]
LINK_KEY = PsevenRunLink().xcom_key
#: What the "pSeven run" tab reads besides the ids (no parameter values).
RUN_RECORD = {
    "conn_id": "pseven_default",
    "url": f"http://p7.test/pseven/runs/{RUN_ID}",
    "secret_parameters": [],
}


def summary(state: str, name: str = "run-1", run_id: str = RUN_ID) -> dict[str, Any]:
    return {
        "workflow_id": WF_ID,
        "run_id": run_id,
        "name": name,
        "path": f"/Users/1/ToyWorkflow.p7wf/@Runs/{name}.p7run",
        "url": f"http://p7.test/pseven/runs/{run_id}",
        "state": state,
    }


def event(status: str, state: str, message: str = "", **payload: Any) -> dict[str, Any]:
    return {"status": status, "state": state, "payload": {**summary(state), **payload}, "message": message}


# --- DeployRunOperator ----------------------------------------------------------------------------


@pytest.fixture
def workflow(requests_mock: requests_mock.Mocker) -> requests_mock.Mocker:
    requests_mock.get(f"{PSEVEN}workflows/{WF_ID}/", json=workflow_json())
    return requests_mock


def deploy_answer(
    m: requests_mock.Mocker, state: str, *, existing: list[dict[str, Any]] | None = None
) -> Any:
    m.get(RUNS_URL, json=existing or [])
    return m.post(RUNS_URL, json=run_json(state, name=DEFAULT_RUN_NAME), status_code=201)


def deploy_op(**kwargs: Any) -> DeployRunOperator:
    return std_log(DeployRunOperator(task_id="task_1", workflow=WF_ID, **kwargs))


def record(run_id: str | None = RUN_ID, name: str = DEFAULT_RUN_NAME, **more: Any) -> dict[str, Any]:
    """What a try leaves in the task state store about the run it deployed."""
    return {"parent_id": WF_ID, "name": name, "run_id": run_id, **more}


def test_deploy_defers_until_configuration(workflow: requests_mock.Mocker) -> None:
    post = deploy_answer(workflow, "QUEUED_TO_INITIALIZE")
    store = FakeStore()
    context = make_context(store)
    with pytest.raises(TaskDeferred) as deferred:
        deploy_op(deferrable=True, poll_interval=3, timeout=900).execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, RunStateTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert trigger.target_states == ["CONFIGURATION"]
    assert (trigger.ref.kind.value, trigger.ref.parent_id, trigger.ref.run_id) == ("workflow", WF_ID, RUN_ID)
    assert trigger.poll_interval == 3.0
    assert post.call_count == 1
    assert post.last_request.json() == {"name": DEFAULT_RUN_NAME}
    assert store.data == {RUN_KEY: record()}
    assert context["ti"].pushed[LINK_KEY].endswith("/tasks/task_1/plugin/pseven-run")
    assert context["ti"].pushed[ADDRESS_KEY].items() >= {**IDS, **RUN_RECORD}.items()


def test_a_successful_deploy_forgets_its_run_so_a_clear_deploys_anew(workflow: requests_mock.Mocker) -> None:
    """Issue 11, defect 4: the store kept the run id after success, so a cleared task adopted it."""
    post = deploy_answer(workflow, "CONFIGURATION")
    store = FakeStore()
    result = deploy_op(deferrable=True).execute(make_context(store))
    assert result == summary("CONFIGURATION", DEFAULT_RUN_NAME)
    assert store.get(RUN_KEY) is None
    deploy_op(deferrable=True).execute(make_context(store))
    assert post.call_count == 2


def test_deploy_waits_on_the_sync_client_when_not_deferrable(
    workflow: requests_mock.Mocker, clock: FakeClock
) -> None:
    deploy_answer(workflow, "QUEUED_TO_INITIALIZE")
    FakeRun(workflow, "QUEUED_TO_INITIALIZE", "QUEUED_TO_INITIALIZE", "CONFIGURATION", clock=clock)
    result = deploy_op(deferrable=False, poll_interval=2).execute(make_context())
    assert result == summary("CONFIGURATION")
    assert polls(clock, 2.0) == 2


@pytest.mark.parametrize("state", ["QUEUED_TO_INITIALIZE", "CONFIGURATION", "QUEUED_TO_RUN", "RUNNING"])
def test_retry_with_a_recorded_live_run_does_not_deploy_again(
    workflow: requests_mock.Mocker, state: str
) -> None:
    post = deploy_answer(workflow, "QUEUED_TO_INITIALIZE")
    FakeRun(workflow, state)
    with contextlib.suppress(TaskDeferred, AirflowException):
        deploy_op(deferrable=True).execute(make_context(FakeStore({RUN_KEY: record()})))
    assert post.call_count == 0
    assert sent_to(workflow, "GET", RUNS_URL) == []  # no need to look the name up


@pytest.mark.parametrize("state", ["FINISHED", "FAILED", "INTERRUPTED"])
def test_retry_whose_recorded_run_ended_deploys_anew(workflow: requests_mock.Mocker, state: str) -> None:
    post = deploy_answer(workflow, "CONFIGURATION")
    workflow.get(f"{RUNS_URL}{RUN2_ID}/", json=run_json(state, run_id=RUN2_ID))
    deploy_op().execute(make_context(FakeStore({RUN_KEY: record(RUN2_ID)})))
    assert post.call_count == 1


def test_retry_whose_recorded_run_is_gone_deploys_anew(workflow: requests_mock.Mocker) -> None:
    post = deploy_answer(workflow, "CONFIGURATION")
    workflow.get(f"{RUNS_URL}{RUN2_ID}/", status_code=404, json={"detail": "Not found."})
    deploy_op().execute(make_context(FakeStore({RUN_KEY: record(RUN2_ID)})))
    assert post.call_count == 1


def test_retry_after_a_try_that_lost_its_deploy_answer_adopts_that_run(
    workflow: requests_mock.Mocker,
) -> None:
    earlier = "airflow dag_1 manual__2026-01-01T00_00_00+00_00 task_1 t1-000000"
    post = deploy_answer(
        workflow,
        "CONFIGURATION",
        existing=[
            run_json("QUEUED_TO_INITIALIZE", run_id=RUN2_ID, name="other"),
            run_json("CONFIGURATION", name=earlier),
        ],
    )
    store = FakeStore({RUN_KEY: record(None, earlier, preexisting=[])})
    result = deploy_op(deferrable=True).execute(make_context(store))
    assert post.call_count == 0
    assert result["run_id"] == RUN_ID


def test_a_users_run_of_the_same_name_is_never_adopted(workflow: requests_mock.Mocker) -> None:
    users = run_json("CONFIGURATION", run_id=RUN2_ID, name="mine")
    post = deploy_answer(workflow, "CONFIGURATION", existing=[users])
    result = deploy_op(run_name="mine").execute(make_context())
    assert post.call_count == 1
    assert result["run_id"] == RUN_ID


def test_deploy_whose_answer_is_lost_finds_the_run_by_its_name(workflow: requests_mock.Mocker) -> None:
    workflow.get(RUNS_URL, json=[run_json("QUEUED_TO_INITIALIZE", name=DEFAULT_RUN_NAME)])
    post = workflow.post(RUNS_URL, exc=requests.exceptions.ReadTimeout("read timed out"))
    store = FakeStore()
    with pytest.raises(TaskDeferred):
        deploy_op(deferrable=True).execute(make_context(store))
    assert post.call_count == 1
    assert store.get(RUN_KEY) == record()


def test_deploy_whose_answers_keep_getting_lost_is_resent_under_its_name_a_bounded_number_of_times(
    workflow: requests_mock.Mocker,
) -> None:
    workflow.get(RUNS_URL, json=[])
    post = workflow.post(RUNS_URL, exc=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(PsevenRequestMayHaveSucceeded, match="may have reached the server"):
        deploy_op().execute(make_context())
    # A run that appears under this try's own name is this try's, so resending under that name
    # is safe (any extra run a late request makes is deleted); it gives up after five tries.
    assert post.call_count == 5
    assert [r.json()["name"] for r in post.request_history] == [DEFAULT_RUN_NAME] * 5


def test_resent_deploy_refused_because_the_first_landed_reuses_that_run(
    workflow: requests_mock.Mocker,
) -> None:
    late = run_json("CONFIGURATION", name=DEFAULT_RUN_NAME)
    # The lost request lands only after the operator stopped looking: the list shows the run only
    # once the second deploy has been sent (and refused, by a server that refuses duplicate names).
    workflow.get(RUNS_URL, json=lambda request, context: [late] if post.call_count >= 2 else [])
    post = workflow.post(
        RUNS_URL,
        [
            {"exc": requests.exceptions.ReadTimeout("read timed out")},
            {"status_code": 400, "json": {"detail": f"A run named '{DEFAULT_RUN_NAME}' already exists."}},
        ],
    )
    result = deploy_op().execute(make_context())
    assert post.call_count == 2
    assert result["run_id"] == late["id"]


def test_deploy_with_path_and_name(workflow: requests_mock.Mocker) -> None:
    post = deploy_answer(workflow, "CONFIGURATION")
    deploy_op(run_name="nightly", run_path="/Users/1/runs").execute(make_context())
    assert post.last_request.json() == {"name": "nightly", "path": "/Users/1/runs"}


def test_deploy_an_app_run_personal(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{APPSHUB}apps/{APP_ID}/", json=app_json(version=3))
    app_runs = runs_url("app", APP_ID)  # the plain id, whichever version it serves
    requests_mock.get(app_runs, json=[])
    post = requests_mock.post(app_runs, json=run_json("CONFIGURATION", name="a"), status_code=201)
    op = std_log(DeployRunOperator(task_id="t", app=APP_ID, personal=True, run_name="a"))
    result = op.execute(make_context())
    assert post.last_request.headers["Content-Type"].startswith("multipart/form-data")
    body = b"".join(bytes(chunk) for chunk in post.last_request.body)
    assert b'name="personal"\r\n\r\nTrue' in body
    assert result["app_id"] == APP_ID
    assert "workflow_id" not in result


def test_deploy_a_pinned_app_version_that_is_the_current_one(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{APPSHUB}apps/{APP_ID}/", json=app_json(version=3))
    app_runs = runs_url("app", APP_ID)
    requests_mock.get(app_runs, json=[])
    post = requests_mock.post(app_runs, json=run_json("CONFIGURATION", name="a"), status_code=201)
    result = std_log(DeployRunOperator(task_id="t", app=f"{APP_ID}@3", run_name="a")).execute(make_context())
    assert post.called and result["app_id"] == APP_ID
    assert all("@" not in r.url for r in requests_mock.request_history)


def test_a_pinned_app_version_that_is_not_the_current_one_fails_before_deploying(
    requests_mock: requests_mock.Mocker,
) -> None:
    requests_mock.get(f"{APPSHUB}apps/{APP_ID}/", json=app_json(version=3))
    with pytest.raises(PsevenAppVersionError) as info:
        std_log(DeployRunOperator(task_id="t", app=f"{APP_ID}@2")).execute(make_context())
    message = str(info.value)
    assert f"pinned as {APP_ID}@2" in message
    assert "current (default) version: version 3 (READY)" in message
    assert f"Pin {APP_ID}@3" in message
    assert [r.method for r in requests_mock.request_history] == ["GET"]  # nothing deployed


def test_deploy_by_workflow_name(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(f"{PSEVEN}workflows/", json=[workflow_json(), workflow_json("a" * 32, "Other")])
    post = deploy_answer(requests_mock, "CONFIGURATION")
    std_log(DeployRunOperator(task_id="task_1", workflow="ToyWorkflow")).execute(make_context())
    assert post.call_count == 1
    with pytest.raises(PsevenLookupError, match=r"Unknown workflow 'Nope'\. Valid values: 'Other"):
        std_log(DeployRunOperator(task_id="task_1", workflow="Nope")).execute(make_context())


def test_run_path_with_app_and_other_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="run_path applies to workflow runs only"):
        DeployRunOperator(task_id="t", app=APP_ID, run_path="/Users/1/x")
    with pytest.raises(ValueError, match="exactly one of workflow"):
        DeployRunOperator(task_id="t")
    with pytest.raises(ValueError, match="exactly one of workflow"):
        DeployRunOperator(task_id="t", workflow=WF_ID, app=APP_ID)
    with pytest.raises(ValueError, match="personal applies to AppsHub app runs only"):
        DeployRunOperator(task_id="t", workflow=WF_ID, personal=True)


def test_parameters_are_applied_after_the_wait(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "CONFIGURATION")
    op = deploy_op(parameters={"label": "new", P2_ID: 3.5})
    result = op.execute_complete(make_context(), event("success", "CONFIGURATION"))
    assert result == summary("CONFIGURATION")
    [patch] = sent(requests_mock, "PATCH")
    values = {p["id"]: p["value"]["data"] for p in patch.json()["parameters"]}
    assert values == {P1_ID: "new", P2_ID: 3.5}  # the unset Secret is left out
    assert {p["name"]: p["value"]["data"] for p in run.parameters} == {
        "label": "new",
        "x": 3.5,
        "password": None,
    }


def test_deploy_execute_complete_failure_and_timeout(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "FAILED")
    requests_mock.get(f"{RUN_URL}download/", status_code=404, json={"detail": "No log."})
    # A run that fails while initializing: a retry deploys a new run, so the error is retryable;
    # on the last try the failed run is deleted, leaving nothing behind.
    with pytest.raises(AirflowException, match=f"run {RUN_ID} ended FAILED") as failed:
        deploy_op().execute_complete(make_context(), event("failed", "FAILED", f"run {RUN_ID} ended FAILED"))
    assert not isinstance(failed.value, AirflowFailException)
    assert run.gone
    FakeRun(requests_mock, "QUEUED_TO_INITIALIZE")
    with pytest.raises(AirflowException, match=r"Timed out after 3600 s") as timed_out:
        deploy_op().execute_complete(make_context(), event("timeout", "QUEUED_TO_INITIALIZE", "still"))
    assert not isinstance(timed_out.value, AirflowFailException)
    assert not any(r.url.endswith("interrupt/") for r in sent(requests_mock, "POST"))


def test_default_run_name_is_safe_and_unique_to_the_try(monkeypatch: pytest.MonkeyPatch) -> None:
    context = {
        "ti": FakeTI(
            dag_id="d/1",
            run_id="scheduled__2026-01-01T00:00:00+00:00",
            task_id="t",
            map_index=3,
            try_number=2,
        )
    }
    assert default_run_name(context) == "airflow d_1 scheduled__2026-01-01T00_00_00+00_00 t m3 t2-abc123"
    assert default_run_name(make_context()) == DEFAULT_RUN_NAME
    monkeypatch.undo()  # the real token: two tries, or two clears, never share a name
    assert default_run_name(make_context()) != default_run_name(make_context())


# --- no orphan runs -------------------------------------------------------------------------------


def test_a_typo_in_the_parameters_deletes_the_run_it_deployed(workflow: requests_mock.Mocker) -> None:
    """Issue 16, item 1: the run of a failed set-up was left in CONFIGURATION on every DAG run."""
    deploy_answer(workflow, "CONFIGURATION")
    run = FakeRun(workflow, "CONFIGURATION")
    store = FakeStore()
    context = make_context(store, FakeTI(max_tries=3))  # retries left, yet a retry cannot fix a typo
    with pytest.raises(PsevenLookupError, match="Unknown parameter 'MySecondParamter'"):
        deploy_op(parameters={"MySecondParamter": 3}).execute(context)
    assert run.gone
    assert store.get(RUN_KEY) is None


def test_a_transient_set_up_failure_keeps_the_run_for_the_retry(workflow: requests_mock.Mocker) -> None:
    deploy_answer(workflow, "CONFIGURATION")
    run = FakeRun(workflow, "CONFIGURATION")
    workflow.patch(RUN_URL, status_code=503, json={"detail": "Maintenance."})
    store = FakeStore()
    with pytest.raises(PsevenServerError):
        deploy_op(parameters={"x": 3}).execute(make_context(store, FakeTI(try_number=1, max_tries=1)))
    assert not run.gone
    assert store.get(RUN_KEY) == record()
    # The retry adopts it; on that last try the same failure deletes it.
    with pytest.raises(PsevenServerError):
        deploy_op(parameters={"x": 3}).execute(make_context(store, FakeTI(try_number=2, max_tries=1)))
    assert run.gone


def test_without_a_task_state_store_a_failed_set_up_deletes_its_run(workflow: requests_mock.Mocker) -> None:
    """Airflow before 3.3: a retry could not find the run, so keeping it would leave an orphan."""
    deploy_answer(workflow, "CONFIGURATION")
    run = FakeRun(workflow, "CONFIGURATION")
    workflow.patch(RUN_URL, status_code=503, json={"detail": "Maintenance."})
    context = {"ti": FakeTI(try_number=1, max_tries=3), "task_state_store": None}
    with pytest.raises(PsevenServerError):
        deploy_op(parameters={"x": 3}).execute(context)
    assert run.gone


def test_a_run_that_cannot_be_deleted_is_named_in_the_log(
    workflow: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    deploy_answer(workflow, "CONFIGURATION")
    FakeRun(workflow, "CONFIGURATION")
    workflow.delete(RUN_URL, status_code=403, json={"detail": "You may not delete this run."})
    with pytest.raises(PsevenLookupError):
        deploy_op(parameters={"typo": 1}).execute(make_context())
    assert any(
        f"Run {RUN_ID} is left on the server" in r.getMessage()
        and "You may not delete this run" in r.getMessage()
        for r in caplog.records
    )


# --- PatchParametersOperator -----------------------------------------------------------------------


def patch_op(parameters: dict[str, Any], **ids: Any) -> PatchParametersOperator:
    return std_log(PatchParametersOperator(task_id="p", parameters=parameters, **(ids or IDS)))


def test_unknown_parameter_name_lists_valid_names_and_patches_nothing(
    requests_mock: requests_mock.Mocker,
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    with pytest.raises(
        PsevenLookupError, match=r"Unknown parameter 'lable'. Valid values: 'label', 'password', 'x'"
    ):
        patch_op({"lable": "typo"}).execute(make_context())
    assert sent(requests_mock, "PATCH") == []


def test_secret_values_are_masked_and_shown_empty(
    requests_mock: requests_mock.Mocker, masked: list[Any]
) -> None:
    run = FakeRun(requests_mock, "CONFIGURATION")
    result = patch_op({"password": SECRET_VALUE, "x": 2.0}).execute(make_context())
    assert result == {"password": "", "x": 2.0}
    assert SECRET_VALUE in masked
    assert run.secret_values == {"ba7236e82c9b17f242a91ec87d2a5e2d": SECRET_VALUE}


def test_patch_leaves_a_set_secret_out(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "CONFIGURATION")
    run.parameters[2]["value"]["data"] = "already-set"
    patch_op({"label": "L"}).execute(make_context())
    [patch] = sent(requests_mock, "PATCH")
    assert [p["name"] for p in patch.json()["parameters"]] == ["label", "x"]


def test_patch_with_empty_parameters_sends_nothing(requests_mock: requests_mock.Mocker) -> None:
    assert patch_op({}).execute(make_context()) == {}
    assert requests_mock.request_history == []


# --- StartRunOperator -------------------------------------------------------------------------------


def start_op(**kwargs: Any) -> StartRunOperator:
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poll_interval", 5)
    return std_log(StartRunOperator(task_id="s", **IDS, **kwargs))


def test_start_a_configuration_run_and_wait(requests_mock: requests_mock.Mocker, clock: FakeClock) -> None:
    FakeRun(requests_mock, "CONFIGURATION", clock=clock, results=RESULTS)
    context = make_context()
    assert start_op().execute(context) == {"y": 2.5, "token_out": ""}
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1
    assert polls(clock, 5.0) == 2  # QUEUED_TO_RUN -> RUNNING -> FINISHED
    assert context["ti"].pushed[LINK_KEY].endswith("/tasks/task_1/plugin/pseven-run")
    assert context["ti"].pushed[ADDRESS_KEY].items() >= {**IDS, **RUN_RECORD}.items()


@pytest.mark.parametrize("state", ["QUEUED_TO_RUN", "RUNNING", "FINISHED"])
def test_a_started_run_is_not_started_again(
    requests_mock: requests_mock.Mocker, clock: FakeClock, state: str
) -> None:
    FakeRun(requests_mock, state, "FINISHED", clock=clock, results=RESULTS)
    assert start_op().execute(make_context()) == {"y": 2.5, "token_out": ""}
    assert sent_to(requests_mock, "POST", f"{RUN_URL}run/") == []


def test_a_failed_run_cannot_start(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FAILED")
    requests_mock.get(f"{RUN_URL}download/", status_code=404, json={"detail": "No log."})
    with pytest.raises(AirflowFailException, match="ended FAILED"):
        start_op().execute(make_context())
    assert sent_to(requests_mock, "POST", f"{RUN_URL}run/") == []


def test_start_waits_for_an_initializing_run(requests_mock: requests_mock.Mocker, clock: FakeClock) -> None:
    run = FakeRun(requests_mock, "QUEUED_TO_INITIALIZE", "CONFIGURATION", clock=clock, results=RESULTS)
    run.on_start = ["FINISHED"]
    assert start_op().execute(make_context()) == {"y": 2.5, "token_out": ""}
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1


def test_lost_start_answer_with_the_run_queued_is_not_resent(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "CONFIGURATION", results=RESULTS)

    def started_but_lost(request: Any, context: Any) -> Any:
        run.set_states("QUEUED_TO_RUN", "FINISHED")
        raise requests.exceptions.ReadTimeout("read timed out")

    requests_mock.post(f"{RUN_URL}run/", json=started_but_lost)
    assert start_op(wait_for_completion=False).execute(make_context())["state"] == "QUEUED_TO_RUN"
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1


def test_lost_start_answer_with_the_run_still_configuration_is_sent_again(
    requests_mock: requests_mock.Mocker,
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    post = requests_mock.post(
        f"{RUN_URL}run/", [{"exc": requests.exceptions.ReadTimeout("lost")}, {"json": {}}]
    )
    start_op(wait_for_completion=False).execute(make_context())
    assert post.call_count == 2


def test_start_defers_with_an_absolute_deadline(
    requests_mock: requests_mock.Mocker, clock: FakeClock
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    with pytest.raises(TaskDeferred) as deferred:
        start_op(deferrable=True, timeout=600, poll_interval=30).execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, RunStateTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert trigger.target_states == ["FINISHED"]
    assert trigger.failure_states == ["FAILED", "INTERRUPTED"]
    assert trigger.deadline == clock.time() + 600
    assert trigger.poll_interval == 30.0
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1


def test_start_without_timeout_defers_without_deadline(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    with pytest.raises(TaskDeferred) as deferred:
        start_op(deferrable=True).execute(make_context())
    assert deferred.value.trigger.deadline is None


def test_start_without_waiting_returns_the_summary(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    assert start_op(wait_for_completion=False, deferrable=True).execute(make_context()) == summary(
        "QUEUED_TO_RUN"
    )


def test_execute_complete_success_returns_results(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FINISHED", results=RESULTS)
    assert start_op().execute_complete(make_context(), event("success", "FINISHED")) == {
        "y": 2.5,
        "token_out": "",
    }


def test_execute_complete_failed_logs_the_run_log_tail(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    FakeRun(requests_mock, "FAILED")
    log = requests_mock.get(f"{RUN_URL}download/", text="".join(f"line {i}\n" for i in range(1, 81)))
    caplog.set_level(logging.INFO)
    with pytest.raises(AirflowFailException, match=f"pSeven run {RUN_ID} ended FAILED"):
        start_op().execute_complete(make_context(), event("failed", "FAILED", f"run {RUN_ID} ended FAILED"))
    assert log.last_request.qs == {"file": [".p7.log.txt"]}
    [record] = [r for r in caplog.records if "Last 50 lines of the run log" in r.getMessage()]
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert "line 80" in text and "line 31" in text and "line 30\n" not in text


def test_execute_complete_failed_without_a_log(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    FakeRun(requests_mock, "INTERRUPTED")
    requests_mock.get(f"{RUN_URL}download/", status_code=404, json={"detail": "No such file."})
    with pytest.raises(AirflowFailException, match="ended INTERRUPTED"):
        start_op().execute_complete(
            make_context(), event("failed", "INTERRUPTED", f"run {RUN_ID} ended INTERRUPTED")
        )
    assert any(
        f"Run {RUN_ID} has no log to show: its details give no logfile_url, and .p7.log.txt, tried as a "
        "best effort, is not there" in r.getMessage()
        for r in caplog.records
    )


def test_execute_complete_timeout_interrupts_the_run(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    with pytest.raises(AirflowException, match=r"Timed out after 600 s waiting for pSeven run .*interrupted"):
        start_op(timeout=600).execute_complete(make_context(), event("timeout", "RUNNING", "still RUNNING"))
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/")) == 1


def test_execute_complete_timeout_without_interrupt(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    with pytest.raises(AirflowException, match="Timed out after 600 s") as raised:
        start_op(timeout=600, interrupt_on_timeout=False).execute_complete(
            make_context(), event("timeout", "RUNNING", "still RUNNING")
        )
    assert "interrupted" not in str(raised.value)
    assert sent(requests_mock, "POST") == []


@pytest.mark.parametrize("bad", [None, {}, {"status": "weird"}, "success", {"state": "FINISHED"}])
def test_execute_complete_refuses_malformed_events(requests_mock: requests_mock.Mocker, bad: Any) -> None:
    with pytest.raises(AirflowException, match="malformed event"):
        start_op().execute_complete(make_context(), bad)
    assert requests_mock.request_history == []


def test_execute_complete_error_event_carries_its_message(requests_mock: requests_mock.Mocker) -> None:
    bad = {"status": "error", "state": "", "payload": {}, "message": "GET runs/x/ failed with HTTP 404: gone"}
    with pytest.raises(
        AirflowException, match="Waiting in the triggerer failed: GET runs/x/ failed with HTTP 404"
    ):
        start_op().execute_complete(make_context(), bad)


# --- GetRunResultsOperator ----------------------------------------------------------------------------


def test_get_results_of_a_finished_run(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FINISHED", results=RESULTS)
    op = GetRunResultsOperator(task_id="g", **IDS)
    assert op.execute(make_context()) == {"y": 2.5, "token_out": ""}


@pytest.mark.parametrize("state", ["RUNNING", "FAILED", "CONFIGURATION"])
def test_get_results_of_an_unfinished_run_fails_saying_so(
    requests_mock: requests_mock.Mocker, state: str
) -> None:
    FakeRun(requests_mock, state, results=RESULTS)
    with pytest.raises(AirflowFailException, match=f"is {state}; results are available once it is FINISHED"):
        GetRunResultsOperator(task_id="g", **IDS).execute(make_context())


def test_get_results_rereads_empty_results(requests_mock: requests_mock.Mocker, clock: FakeClock) -> None:
    requests_mock.get(
        RUN_URL, [{"json": run_json("FINISHED")}, {"json": run_json("FINISHED", results=RESULTS)}]
    )
    assert GetRunResultsOperator(task_id="g", **IDS).execute(make_context()) == {"y": 2.5, "token_out": ""}
    assert clock.sleeps == [1.0]


# --- InterruptRunOperator --------------------------------------------------------------------------------


def test_interrupt_a_running_run_and_wait(requests_mock: requests_mock.Mocker, clock: FakeClock) -> None:
    FakeRun(requests_mock, "RUNNING", clock=clock)
    op = std_log(InterruptRunOperator(task_id="i", deferrable=False, **IDS))
    assert op.execute(make_context()) == "INTERRUPTED"
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/")) == 1


@pytest.mark.parametrize("state", ["FINISHED", "FAILED", "INTERRUPTED", "CONFIGURATION"])
def test_interrupt_leaves_a_stopped_run(requests_mock: requests_mock.Mocker, state: str) -> None:
    FakeRun(requests_mock, state)
    assert (
        std_log(InterruptRunOperator(task_id="i", deferrable=False, **IDS)).execute(make_context()) == state
    )
    assert sent(requests_mock, "POST") == []


def test_interrupt_defers_for_the_end_states(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    op = std_log(InterruptRunOperator(task_id="i", deferrable=True, **IDS))
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    assert deferred.value.trigger.target_states == ["INTERRUPTED", "FINISHED", "FAILED"]
    assert op.execute_complete(make_context(), event("success", "INTERRUPTED")) == "INTERRUPTED"


# --- DeleteRunOperator -------------------------------------------------------------------------------------


def test_delete_a_run_already_gone_succeeds(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(RUN_URL, status_code=404, json={"detail": "Not found."})
    assert std_log(DeleteRunOperator(task_id="d", **IDS)).execute(make_context()) is None
    assert sent(requests_mock, "DELETE") == []


def test_delete_waits_for_404(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "FINISHED")
    std_log(DeleteRunOperator(task_id="d", **IDS)).execute(make_context())
    assert run.gone
    methods = [r.method for r in requests_mock.request_history]
    assert methods == ["GET", "GET", "DELETE", "GET"]  # the first reads the run for its lineage facet
    assert requests_mock.request_history[-1].url == RUN_URL


def test_delete_interrupts_a_running_run_first(requests_mock: requests_mock.Mocker, clock: FakeClock) -> None:
    run = FakeRun(requests_mock, "RUNNING", clock=clock)
    std_log(DeleteRunOperator(task_id="d", **IDS)).execute(make_context())
    assert run.gone
    assert [r.method for r in requests_mock.request_history][:4] == ["GET", "GET", "GET", "POST"]
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/")) == 1
    assert len(sent(requests_mock, "DELETE")) == 1


def test_delete_without_interrupt_refuses_a_running_run(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    with pytest.raises(AirflowFailException, match="is RUNNING and cannot be deleted; interrupt it first"):
        std_log(DeleteRunOperator(task_id="d", interrupt=False, **IDS)).execute(make_context())
    assert sent(requests_mock, "DELETE") == []
    assert sent(requests_mock, "POST") == []


# --- construction rules shared by the operators ---------------------------------------------------------------


WAITING = [
    (StartRunOperator, IDS),
    (InterruptRunOperator, IDS),
    (DeployRunOperator, {"workflow": WF_ID}),
]


@pytest.mark.parametrize(("cls", "ids"), WAITING)
@pytest.mark.parametrize("setting", ["true", "false"])
def test_deferrable_defaults_to_the_airflow_setting(
    monkeypatch: pytest.MonkeyPatch, cls: type, ids: dict[str, Any], setting: str
) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    assert cls(task_id="t", **ids).deferrable is (setting == "true")
    assert cls(task_id="t", deferrable=setting != "true", **ids).deferrable is (setting != "true")


@pytest.mark.parametrize(("cls", "ids"), WAITING)
@pytest.mark.parametrize("name", ["poll_interval", "timeout"])
@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_non_positive_intervals_are_refused(cls: type, ids: dict[str, Any], name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{name} must be a positive number of seconds, not {value!r}"):
        cls(task_id="t", **ids, **{name: value})


#: Operators that address one existing run (run_id with workflow_id or app_id).
RUN_OPERATORS = [
    StartRunOperator,
    PatchParametersOperator,
    GetRunResultsOperator,
    DeleteRunOperator,
    InterruptRunOperator,
]


@pytest.mark.parametrize("cls", RUN_OPERATORS)
def test_workflow_id_and_app_id_both_or_none_raise(cls: type) -> None:
    extra: dict[str, Any] = {"parameters": {}} if cls is PatchParametersOperator else {}
    with pytest.raises(ValueError, match="not both"):
        cls(task_id="t", workflow_id=WF_ID, app_id=APP_ID, run_id=RUN_ID, **extra)
    with pytest.raises(ValueError, match=r"Give workflow_id .* or app_id"):
        cls(task_id="t", run_id=RUN_ID, **extra)


@pytest.mark.parametrize(
    ("template_value", "field", "message"),
    [
        ("{{ upstream_run }}", "run_id", "run_id is empty"),
        ("{{ upstream_wf }}", "workflow_id", "workflow_id is empty"),
    ],
)
def test_a_templated_id_that_renders_empty_fails_naming_it(
    requests_mock: requests_mock.Mocker, template_value: str, field: str, message: str
) -> None:
    ids = {**IDS, field: template_value}
    op = std_log(StartRunOperator(task_id="s", deferrable=False, **ids))
    op.render_template_fields({"upstream_run": "", "upstream_wf": "  "}, jinja2.Environment())
    with pytest.raises(PsevenConfigError, match=f"{message} .*templated id probably rendered to nothing"):
        op.execute(make_context())
    assert requests_mock.request_history == []


def test_templated_ids_render_from_xcom_like_values(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    op = std_log(
        MessagePushOperator(
            task_id="m", workflow_id="{{ wf }}", run_id="{{ deploy['run_id'] }}", message="{{ msg }}"
        )
    )
    op.render_template_fields({"wf": WF_ID, "deploy": {"run_id": RUN_ID}, "msg": "go"}, jinja2.Environment())
    requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    assert op.execute(make_context()) == "go"


@pytest.mark.parametrize("cls", [*RUN_OPERATORS, MessagePushOperator])
def test_run_address_fields_are_templated(cls: type) -> None:
    assert {"pseven_conn_id", "workflow_id", "app_id", "run_id"} <= set(cls.template_fields)


def test_deploy_templated_fields() -> None:
    assert {"pseven_conn_id", "workflow", "app", "run_name", "run_path", "parameters"} <= set(
        DeployRunOperator.template_fields
    )
    assert "parameters" in PatchParametersOperator.template_fields


# --- on_kill of a task waiting without deferral ----------------------------------------------------------


@pytest.mark.parametrize("states", [("RUNNING",), ("QUEUED_TO_RUN", "QUEUED_TO_RUN", "RUNNING")])
def test_a_kill_during_the_wait_interrupts_the_run(
    requests_mock: requests_mock.Mocker, clock: FakeClock, states: tuple[str, ...]
) -> None:
    """The kill arrives while the task waits (at the wait's first pause), as Airflow's on_kill does:
    the run is interrupted (a queued one once it runs: the guide interrupts only RUNNING) and the
    wait ends on the run's INTERRUPTED state."""
    run = FakeRun(requests_mock, "CONFIGURATION", clock=clock, on_start=states)
    requests_mock.get(f"{RUN_URL}download/", status_code=404, json={"detail": "no log"})
    op = start_op(poll_interval=5)
    kills: list[int] = []

    def kill_once() -> None:
        if not kills:
            kills.append(1)
            op.on_kill()

    clock.on_sleep.append(kill_once)
    with pytest.raises(AirflowFailException, match="ended INTERRUPTED"):
        op.execute(make_context())
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}interrupt/")) == 1
    assert run.state == "INTERRUPTED"


def test_killing_a_task_that_is_not_waiting_sends_nothing(requests_mock: requests_mock.Mocker) -> None:
    start_op().on_kill()
    assert requests_mock.request_history == []
