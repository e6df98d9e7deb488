"""PublishAppOperator, MessagePushOperator, RunStateSensor and MessageSensor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import requests_mock
from af_support import (
    APP_ID,
    APPSHUB,
    PSEVEN,
    RUN_ID,
    RUN_URL,
    WF_ID,
    FakeClock,
    FakeRun,
    FakeStore,
    app_json,
    make_context,
    polls,
    sent,
    sent_to,
    std_log,
    workflow_json,
)
from airflow.sdk import PokeReturnValue

from airflow_provider_pseven.client import PsevenRequestMayHaveSucceeded
from airflow_provider_pseven.compat import AirflowException, AirflowFailException, TaskDeferred
from airflow_provider_pseven.operators import MessagePushOperator, PublishAppOperator
from airflow_provider_pseven.operators.apps import APP_KEY
from airflow_provider_pseven.sensors import MessageSensor, RunStateSensor
from airflow_provider_pseven.triggers import AppReadyTrigger, MessageTrigger, RunStateTrigger

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}
APPS_URL = f"{APPSHUB}apps/"
APP_V3_URL = f"{APPSHUB}apps/{APP_ID}@3/"
READY = {
    "app_id": APP_ID,
    "version": 3,
    "revision": 0,
    "url": f"http://p7.test/appshub/app/{APP_ID}@3",
    "state": "READY",
}


@pytest.fixture
def sensor_clock(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> FakeClock:
    """The sensor poke loop of BaseSensorOperator sleeps on the fake clock too."""
    import airflow.sdk.bases.sensor as sensor_module

    monkeypatch.setattr(sensor_module, "time", clock)
    return clock


# --- PublishAppOperator ---------------------------------------------------------------------------


@pytest.fixture
def publishing(requests_mock: requests_mock.Mocker) -> requests_mock.Mocker:
    requests_mock.get(f"{PSEVEN}workflows/{WF_ID}/", json=workflow_json())
    requests_mock.post(APPS_URL, json=app_json(state="QUEUED_TO_INITIALIZE"), status_code=201)
    requests_mock.get(
        APP_V3_URL,
        [
            {"json": app_json(state="QUEUED_TO_INITIALIZE")},
            {"json": app_json(state="INITIALIZING")},
            {"json": app_json()},
        ],
    )
    return requests_mock


def publish_op(**kwargs: Any) -> PublishAppOperator:
    kwargs.setdefault("deferrable", False)
    return std_log(PublishAppOperator(task_id="p", workflow=WF_ID, name="Toy app", **kwargs))


def form_body(request: Any) -> bytes:
    return request.body if isinstance(request.body, bytes) else b"".join(bytes(c) for c in request.body)


def test_publish_as_form_data_and_wait_for_ready(publishing: requests_mock.Mocker, clock: FakeClock) -> None:
    store = FakeStore()
    result = publish_op(
        workspace_name="Toy apps", description="d", version=3, set_version_as_default=True, poll_interval=4
    ).execute(make_context(store))
    assert result == READY
    [post] = sent_to(publishing, "POST", APPS_URL)
    assert post.headers["Content-Type"].startswith("multipart/form-data")
    body = form_body(post)
    for name, value in (
        ("name", b"Toy app"),
        ("workflow_path", b"/Users/1/ToyWorkflow.p7wf"),
        ("workspace.name", b"Toy apps"),
        ("description", b"d"),
        ("version", b"3"),
        ("set_version_as_default", b"True"),
    ):
        assert f'name="{name}"'.encode() + b"\r\n\r\n" + value in body
    # A successful try forgets what it published: clearing the task publishes again.
    assert store.get(APP_KEY) is None
    assert polls(clock, 4.0) == 2


def test_publish_records_the_version_until_it_is_ready(publishing: requests_mock.Mocker) -> None:
    store = FakeStore()
    with pytest.raises(TaskDeferred):
        publish_op(workspace_name="Toy apps", deferrable=True).execute(make_context(store))
    assert store.get(APP_KEY) == {"app_id": APP_ID, "version": 3}


def test_a_cleared_publish_publishes_again(publishing: requests_mock.Mocker) -> None:
    store = FakeStore()
    publish_op(workspace_name="Toy apps").execute(make_context(store))
    publish_op(workspace_name="Toy apps").execute(make_context(store))
    assert len(sent_to(publishing, "POST", APPS_URL)) == 2


def test_publish_with_a_thumbnail_is_multipart(publishing: requests_mock.Mocker, tmp_path: Path) -> None:
    thumbnail = tmp_path / "thumb.png"
    thumbnail.write_bytes(b"\x89PNG-bytes")
    publish_op(workspace_id=7, allow_get_as_workflow=False, thumbnail=str(thumbnail)).execute(make_context())
    [post] = sent_to(publishing, "POST", APPS_URL)
    assert post.headers["Content-Type"].startswith("multipart/form-data")
    body = form_body(post)
    assert b'name="workspace.id"\r\n\r\n7' in body
    assert b'name="allow_get_as_workflow"\r\n\r\nFalse' in body
    assert b'filename="thumb.png"' in body and b"\x89PNG-bytes" in body


def test_publish_defers_to_app_ready(publishing: requests_mock.Mocker, clock: FakeClock) -> None:
    with pytest.raises(TaskDeferred) as deferred:
        publish_op(workspace_name="Toy apps", deferrable=True, timeout=100).execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, AppReadyTrigger)
    assert (trigger.app_id, trigger.version, trigger.deadline) == (APP_ID, 3, clock.time() + 100)
    assert deferred.value.method_name == "execute_complete"


def test_publish_retry_with_a_recorded_app_does_not_publish_again(publishing: requests_mock.Mocker) -> None:
    store = FakeStore({APP_KEY: {"app_id": APP_ID, "version": 3}})
    with pytest.raises(TaskDeferred) as deferred:
        publish_op(workspace_name="Toy apps", deferrable=True).execute(make_context(store))
    assert (deferred.value.trigger.app_id, deferred.value.trigger.version) == (APP_ID, 3)
    assert sent(publishing, "POST") == []
    assert sent_to(publishing, "GET", f"{PSEVEN}workflows/{WF_ID}/") == []


@pytest.mark.parametrize(
    "answer", [{"status_code": 404, "json": {"detail": "Not found."}}, {"json": app_json(state="FAILED")}]
)
def test_publish_retry_whose_recorded_version_is_gone_or_failed_publishes_anew(
    publishing: requests_mock.Mocker, answer: dict[str, Any]
) -> None:
    publishing.get(APP_V3_URL, [answer, {"json": app_json()}])
    store = FakeStore({APP_KEY: {"app_id": APP_ID, "version": 3}})
    publish_op(workspace_name="Toy apps").execute(make_context(store))
    assert len(sent_to(publishing, "POST", APPS_URL)) == 1


def test_publish_whose_answer_is_lost_says_to_check_before_retrying(
    requests_mock: requests_mock.Mocker,
) -> None:
    requests_mock.get(f"{PSEVEN}workflows/{WF_ID}/", json=workflow_json())
    post = requests_mock.post(APPS_URL, exc=requests.exceptions.ReadTimeout("lost"))
    store = FakeStore()
    with pytest.raises(
        PsevenRequestMayHaveSucceeded, match="check AppsHub for app 'Toy app' before retrying"
    ):
        publish_op(workspace_name="Toy apps").execute(make_context(store))
    assert post.call_count == 1
    assert store.data == {}


def test_publish_execute_complete(requests_mock: requests_mock.Mocker) -> None:
    op = publish_op(workspace_name="Toy apps")
    ok = {"status": "success", "state": "READY", "payload": READY, "message": ""}
    assert op.execute_complete(make_context(), ok) == READY
    failed = {
        "status": "failed",
        "state": "FAILED",
        "payload": {},
        "message": f"publishing app {APP_ID} failed",
    }
    with pytest.raises(AirflowException, match=f"pSeven publishing app {APP_ID} failed"):
        op.execute_complete(make_context(), failed)
    with pytest.raises(AirflowException, match="malformed"):
        op.execute_complete(make_context(), {"status": "weird"})


def test_publish_needs_a_workspace() -> None:
    with pytest.raises(ValueError, match="Give workspace_name or workspace_id"):
        PublishAppOperator(task_id="p", workflow=WF_ID, name="x")


# --- MessagePushOperator --------------------------------------------------------------------------


def test_push_a_message_on_a_channel(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    push = requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    op = std_log(MessagePushOperator(task_id="m", message="stop now", channel="control", **IDS))
    assert op.execute(make_context()) == "stop now"
    assert push.last_request.json() == {"message": "stop now", "channel": "control"}


def test_push_on_the_default_channel(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    push = requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    std_log(MessagePushOperator(task_id="m", message=42, **IDS)).execute(make_context())  # type: ignore[arg-type]
    assert push.last_request.json() == {"message": "42"}


def test_a_push_whose_answer_is_lost_is_not_resent(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    push = requests_mock.post(f"{RUN_URL}message_push/", exc=requests.exceptions.ReadTimeout("lost"))
    with pytest.raises(PsevenRequestMayHaveSucceeded):
        std_log(MessagePushOperator(task_id="m", message="x", **IDS)).execute(make_context())
    assert push.call_count == 1


def test_push_right_after_a_start_waits_for_running(
    requests_mock: requests_mock.Mocker, clock: FakeClock
) -> None:
    """The guide: after a start the run is QUEUED_TO_RUN, and messages need RUNNING."""
    FakeRun(requests_mock, "QUEUED_TO_RUN", "QUEUED_TO_RUN", "RUNNING", clock=clock)
    push = requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    op = std_log(MessagePushOperator(task_id="m", message="go", deferrable=False, poll_interval=2, **IDS))
    assert op.execute(make_context()) == "go"
    assert push.call_count == 1
    assert polls(clock, 2.0) >= 2


def test_push_right_after_a_start_defers_until_running(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "QUEUED_TO_RUN")
    with pytest.raises(TaskDeferred) as deferred:
        std_log(MessagePushOperator(task_id="m", message="go", deferrable=True, **IDS)).execute(
            make_context()
        )
    assert deferred.value.trigger.target_states == ["RUNNING"]
    push = requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    FakeRun(requests_mock, "RUNNING")
    event = {"status": "success", "state": "RUNNING", "payload": {**IDS, "state": "RUNNING"}, "message": ""}
    op = std_log(MessagePushOperator(task_id="m", message="go", **IDS))
    assert op.execute_complete(make_context(), event) == "go"
    assert push.call_count == 1


@pytest.mark.parametrize("state", ["FINISHED", "FAILED", "INTERRUPTED"])
def test_push_to_a_run_that_ended_fails_saying_so(requests_mock: requests_mock.Mocker, state: str) -> None:
    FakeRun(requests_mock, state)
    push = requests_mock.post(f"{RUN_URL}message_push/", status_code=202)
    with pytest.raises(
        AirflowFailException, match=f"Run {RUN_ID} is {state}: a message can be sent only while it is RUNNING"
    ):
        std_log(MessagePushOperator(task_id="m", message="x", **IDS)).execute(make_context())
    assert push.call_count == 0


@pytest.mark.parametrize("status", [400, 409])
def test_push_refused_because_the_run_just_ended(requests_mock: requests_mock.Mocker, status: int) -> None:
    run = FakeRun(requests_mock, "RUNNING")
    requests_mock.post(f"{RUN_URL}message_push/", status_code=status, json={"detail": "Not allowed now."})
    op = std_log(MessagePushOperator(task_id="m", message="x", **IDS))
    original_get = op.hook.client.get_run

    def ended(ref: Any) -> Any:
        run.set_states("FINISHED")
        return original_get(ref)

    op.hook.client.get_run = ended  # type: ignore[method-assign]
    with pytest.raises(
        AirflowFailException, match="is FINISHED: a message can be sent only while it is RUNNING"
    ):
        op.execute(make_context())


# --- RunStateSensor -------------------------------------------------------------------------------


def state_sensor(**kwargs: Any) -> RunStateSensor:
    return std_log(RunStateSensor(task_id="w", **IDS, **kwargs))


def test_run_state_sensor_defers_when_asked(clock: FakeClock) -> None:
    with pytest.raises(TaskDeferred) as deferred:
        state_sensor(timeout=3600, poll_interval=15, deferrable=True).execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, RunStateTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert trigger.target_states == ["FINISHED"]
    assert trigger.failure_states == ["FAILED", "INTERRUPTED"]
    assert trigger.interrupt_on_kill is False  # it watches a run other tasks own
    assert trigger.poll_interval == 15.0
    assert trigger.deadline == clock.time() + 3600  # on the client's clock


def test_run_state_sensor_custom_states_and_app_runs() -> None:
    sensor = std_log(
        RunStateSensor(
            task_id="w",
            app_id=APP_ID,
            run_id=RUN_ID,
            target_states=["CONFIGURATION"],
            failure_states=[],
            interrupt_on_kill=True,
            deferrable=True,
        )
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    trigger = deferred.value.trigger
    assert (trigger.ref.kind.value, trigger.ref.parent_id) == ("app", APP_ID)
    assert (trigger.target_states, trigger.failure_states) == (["CONFIGURATION"], [])
    assert trigger.interrupt_on_kill is True


def test_run_state_sensor_refuses_unknown_states() -> None:
    with pytest.raises(
        ValueError, match=r"target_states has unknown states \['DONE'\]; valid states: \['CONFIGURATION'"
    ):
        RunStateSensor(task_id="w", target_states=["DONE"], **IDS)


@pytest.mark.parametrize("cls", [RunStateSensor, MessageSensor])
def test_sensor_argument_checks(cls: type) -> None:
    with pytest.raises(ValueError, match="poll_interval must be a positive number of seconds, not 0"):
        cls(task_id="w", poll_interval=0, **IDS)
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, not -5"):
        cls(task_id="w", timeout=-5, **IDS)
    with pytest.raises(ValueError, match=r"Give workflow_id \(a workflow run\) or app_id"):
        cls(task_id="w", run_id=RUN_ID)
    with pytest.raises(ValueError, match="Give workflow_id or app_id, not both"):
        cls(task_id="w", workflow_id=WF_ID, app_id=APP_ID, run_id=RUN_ID)
    assert {"workflow_id", "app_id", "run_id", "pseven_conn_id"} <= set(cls.template_fields)


def test_run_state_poke(requests_mock: requests_mock.Mocker) -> None:
    run = FakeRun(requests_mock, "RUNNING")
    sensor = state_sensor(deferrable=False)
    assert sensor.poke(make_context()) is False
    run.set_states("FINISHED")
    done = sensor.poke(make_context())
    assert isinstance(done, PokeReturnValue)
    assert done.is_done is True
    assert done.xcom_value["state"] == "FINISHED"
    assert done.xcom_value["run_id"] == RUN_ID


@pytest.mark.parametrize(("targets", "state"), [(["FINISHED"], "FAILED"), (["CONFIGURATION"], "FINISHED")])
def test_run_state_poke_fails_on_a_failure_or_terminal_state(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture, targets: list[str], state: str
) -> None:
    FakeRun(requests_mock, state)
    requests_mock.get(f"{RUN_URL}download/", text="boom: solver diverged\n")
    with pytest.raises(AirflowFailException, match=f"ended {state}"):
        state_sensor(deferrable=False, target_states=targets).poke(make_context())
    assert any("boom: solver diverged" in r.getMessage() for r in caplog.records)


def test_run_state_sensor_polls_when_not_deferrable(
    requests_mock: requests_mock.Mocker, sensor_clock: FakeClock
) -> None:
    FakeRun(requests_mock, "RUNNING", "RUNNING", "FINISHED", clock=sensor_clock)
    result = state_sensor(deferrable=False, poll_interval=10).execute(make_context())
    assert result["state"] == "FINISHED"
    assert sensor_clock.sleeps == [10.0, 10.0]


def test_run_state_execute_complete(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FINISHED")  # read for the lineage facet: this event names only the id
    sensor = state_sensor(timeout=60)
    payload = {"workflow_id": WF_ID, "run_id": RUN_ID, "state": "FINISHED"}
    assert (
        sensor.execute_complete(
            make_context(), {"status": "success", "state": "FINISHED", "payload": payload}
        )
        == payload
    )
    with pytest.raises(AirflowException, match=r"Timed out after 60 s: pSeven run .* still RUNNING"):
        sensor.execute_complete(
            make_context(),
            {
                "status": "timeout",
                "state": "RUNNING",
                "payload": {},
                "message": f"run {RUN_ID} was still RUNNING",
            },
        )
    FakeRun(requests_mock, "FAILED")
    requests_mock.get(f"{RUN_URL}download/", status_code=404, json={"detail": "none"})
    with pytest.raises(AirflowFailException, match="ended FAILED"):
        sensor.execute_complete(
            make_context(),
            {"status": "failed", "state": "FAILED", "payload": {}, "message": f"run {RUN_ID} ended FAILED"},
        )
    with pytest.raises(AirflowException, match="malformed"):
        sensor.execute_complete(make_context(), None)


# --- MessageSensor --------------------------------------------------------------------------------


def test_message_sensor_defers_with_its_channel() -> None:
    with pytest.raises(TaskDeferred) as deferred:
        std_log(
            MessageSensor(task_id="m", channel="progress", poll_interval=2, deferrable=True, **IDS)
        ).execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, MessageTrigger)
    assert trigger.channel == "progress"
    assert trigger.poll_interval == 2.0
    assert (trigger.ref.parent_id, trigger.ref.run_id) == (WF_ID, RUN_ID)
    assert deferred.value.method_name == "execute_complete"
    assert "channel" in MessageSensor.template_fields


def test_message_poke(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "RUNNING")
    pop = requests_mock.post(
        f"{RUN_URL}message_pop/", [{"status_code": 204}, {"json": {"message": "half way"}}]
    )
    sensor = std_log(MessageSensor(task_id="m", channel="progress", deferrable=False, **IDS))
    assert sensor.poke(make_context()) is False
    done = sensor.poke(make_context())
    assert isinstance(done, PokeReturnValue) and done.xcom_value == "half way"
    assert json.loads(pop.last_request.body) == {"channel": "progress"}


@pytest.mark.parametrize(
    "refusal", [{"status_code": 400, "json": {"detail": "Not allowed."}}, {"status_code": 204}]
)
def test_message_poke_before_the_run_started_and_after_it_ended(
    requests_mock: requests_mock.Mocker, refusal: dict[str, Any]
) -> None:
    """Whether the server refuses a pop outside RUNNING (400, no state named) or answers 204, the
    sensor reads the run's state: it waits while the run is queued, and fails once it has ended."""
    requests_mock.post(f"{RUN_URL}message_pop/", **refusal)
    run = FakeRun(requests_mock, "QUEUED_TO_RUN")
    sensor = std_log(MessageSensor(task_id="m", deferrable=False, **IDS))
    assert sensor.poke(make_context()) is False
    run.set_states("FINISHED")
    with pytest.raises(AirflowFailException, match=f"run {RUN_ID} ended FINISHED before a message came"):
        sensor.poke(make_context())


def test_message_sensor_polls_when_not_deferrable(
    requests_mock: requests_mock.Mocker, sensor_clock: FakeClock
) -> None:
    FakeRun(requests_mock, "RUNNING")
    requests_mock.post(
        f"{RUN_URL}message_pop/", [{"status_code": 204}, {"status_code": 204}, {"json": {"message": "m"}}]
    )
    assert (
        std_log(MessageSensor(task_id="m", deferrable=False, poke_interval=3, **IDS)).execute(make_context())
        == "m"
    )
    assert sensor_clock.sleeps == [3.0, 3.0]


def test_message_execute_complete() -> None:
    sensor = std_log(MessageSensor(task_id="m", timeout=30, **IDS))
    ok = {"status": "success", "state": "RUNNING", "payload": {"message": "hello"}, "message": ""}
    assert sensor.execute_complete(make_context(), ok) == "hello"
    with pytest.raises(AirflowFailException, match=r"pSeven run .* ended FAILED before a message came"):
        sensor.execute_complete(
            make_context(),
            {
                "status": "failed",
                "state": "FAILED",
                "payload": {},
                "message": f"run {RUN_ID} ended FAILED before a message came",
            },
        )
    with pytest.raises(AirflowException, match="Timed out after 30 s"):
        sensor.execute_complete(
            make_context(), {"status": "timeout", "state": "RUNNING", "payload": {}, "message": "x"}
        )
    with pytest.raises(AirflowException, match="Waiting in the triggerer failed: HTTP 403"):
        sensor.execute_complete(make_context(), {"status": "error", "message": "HTTP 403"})
