"""Airflow users bring Airflow's idioms: BaseSensorOperator's and BaseOperator's standard arguments
work on every pSeven sensor and operator, with their usual meaning."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from af_support import APP_ID, RUN_ID, WF_ID, FakeRun, make_context, std_log

from airflow_provider_pseven import operators, sensors
from airflow_provider_pseven.compat import AirflowRescheduleException, AirflowSkipException, TaskDeferred

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}
SENSORS = [sensors.RunStateSensor, sensors.MessageSensor]

#: BaseOperator's arguments a DAG author writes most, with values of the right type.
STANDARD = {
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=5),
    "execution_timeout": dt.timedelta(hours=1),
    "owner": "design-team",
    "email": ["ops@example.com"],
    "email_on_failure": False,
    "pool": "pseven",
    "pool_slots": 1,
    "queue": "simulations",
    "priority_weight": 5,
    "weight_rule": "absolute",
    "trigger_rule": "all_done",
    "depends_on_past": False,
    "do_xcom_push": True,
    "doc_md": "Runs the design study.",
    "on_failure_callback": lambda context: None,
    "on_success_callback": lambda context: None,
    "on_retry_callback": lambda context: None,
    "executor_config": {},
}

#: Each operator with the arguments it needs.
OPERATORS: list[tuple[type, dict[str, Any]]] = [
    (operators.DeployRunOperator, {"workflow": WF_ID}),
    (operators.PatchParametersOperator, {**IDS, "parameters": {"x": 1}}),
    (operators.UploadFilesOperator, {**IDS, "files": ["a.csv"]}),
    (operators.StartRunOperator, IDS),
    (operators.GetRunResultsOperator, IDS),
    (operators.InterruptRunOperator, IDS),
    (operators.DeleteRunOperator, IDS),
    (operators.RunWorkflowOperator, {"workflow": WF_ID}),
    (operators.DownloadFileOperator, {**IDS, "file": "results.json", "destination": "/tmp/out/"}),
    (operators.ListFilesOperator, IDS),
    (operators.PublishAppOperator, {"workflow": WF_ID, "name": "Toy app", "workspace_name": "Toy apps"}),
    (operators.MessagePushOperator, {**IDS, "message": "hi"}),
]


@pytest.mark.parametrize(("cls", "arguments"), OPERATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_every_operator_takes_the_standard_base_operator_arguments(
    cls: type, arguments: dict[str, Any]
) -> None:
    task = cls(task_id="t", **arguments, **STANDARD)
    assert (task.retries, task.pool, task.queue, task.trigger_rule) == (
        2,
        "pseven",
        "simulations",
        "all_done",
    )
    assert task.execution_timeout == dt.timedelta(hours=1)


@pytest.mark.parametrize("cls", SENSORS)
def test_sensors_take_poke_interval(cls: type) -> None:
    """Issue 11, defect 2: ``poke_interval=30`` failed at DAG parse with "got multiple values"."""
    sensor = std_log(cls(task_id="s", poke_interval=30, deferrable=True, **IDS))
    assert sensor.poke_interval == 30
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    assert deferred.value.trigger.poll_interval == 30


@pytest.mark.parametrize("cls", SENSORS)
def test_sensors_defer_by_airflows_default_deferrable_as_the_operators_do(
    cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule (issue 26): ``deferrable`` left out follows ``[operators] default_deferrable``, off
    unless the deployment turns it on; ``mode="reschedule"`` is asking not to defer."""
    from airflow_provider_pseven.operators import StartRunOperator

    assert cls(task_id="s", **IDS).deferrable is False
    assert StartRunOperator(task_id="o", **IDS).deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert cls(task_id="s", **IDS).deferrable is True
    assert StartRunOperator(task_id="o", **IDS).deferrable is True
    assert cls(task_id="s", mode="reschedule", **IDS).deferrable is False
    assert cls(task_id="s", deferrable=False, **IDS).deferrable is False


@pytest.mark.parametrize("cls", SENSORS)
def test_poll_interval_stays_an_alias(cls: type) -> None:
    assert cls(task_id="s", poll_interval=12, **IDS).poke_interval == 12
    assert cls(task_id="s", poll_interval=12, poke_interval=12, **IDS).poke_interval == 12
    assert cls(task_id="s", poke_interval=dt.timedelta(seconds=45), **IDS).poke_interval == 45


@pytest.mark.parametrize("cls", SENSORS)
def test_two_different_intervals_are_a_clear_error_at_parse_time(cls: type) -> None:
    with pytest.raises(ValueError, match="poke_interval=30 and poll_interval=10 disagree"):
        cls(task_id="s", poke_interval=30, poll_interval=10, **IDS)


@pytest.mark.parametrize("cls", SENSORS)
def test_timeout_soft_fail_backoff_and_max_wait(cls: type) -> None:
    sensor = cls(
        task_id="s",
        timeout=dt.timedelta(hours=2),
        soft_fail=True,
        exponential_backoff=True,
        max_wait=dt.timedelta(minutes=10),
        **IDS,
    )
    assert (sensor.timeout, sensor.soft_fail, sensor.exponential_backoff) == (7200, True, True)
    assert sensor.max_wait == dt.timedelta(minutes=10)


@pytest.mark.parametrize("cls", SENSORS)
def test_mode_reschedule_means_reschedule_not_defer(cls: type, requests_mock: Any) -> None:
    run = FakeRun(requests_mock, "QUEUED_TO_RUN")
    requests_mock.post(f"{run.url}message_pop/", status_code=204)
    sensor = std_log(cls(task_id="s", mode="reschedule", poke_interval=60, **IDS))
    assert sensor.deferrable is False
    assert sensor.reschedule is True
    context = make_context()
    context["ti"].get_first_reschedule_date = lambda context: None  # type: ignore[attr-defined]
    with pytest.raises(AirflowRescheduleException):
        sensor.execute(context)


@pytest.mark.parametrize("cls", SENSORS)
def test_deferrable_and_reschedule_together_is_a_clear_error(cls: type) -> None:
    with pytest.raises(ValueError, match="choose one"):
        cls(task_id="s", mode="reschedule", deferrable=True, **IDS)


def test_soft_fail_skips_a_deferred_sensor_whose_run_failed(requests_mock: Any) -> None:
    run = FakeRun(requests_mock, "FAILED")
    requests_mock.get(f"{run.url}download/", status_code=404, json={"detail": "x"})
    sensor = std_log(sensors.RunStateSensor(task_id="s", soft_fail=True, **IDS))
    failed = {"status": "failed", "state": "FAILED", "payload": {**IDS, "state": "FAILED"}, "message": "x"}
    with pytest.raises(AirflowSkipException):
        sensor.resume_execution("execute_complete", {"event": failed}, make_context())


def test_soft_fail_skips_a_deferred_sensor_that_timed_out() -> None:
    sensor = std_log(sensors.RunStateSensor(task_id="s", soft_fail=True, app_id=APP_ID, run_id=RUN_ID))
    timeout = {"status": "timeout", "state": "RUNNING", "payload": {}, "message": "still RUNNING"}
    with pytest.raises(AirflowSkipException):
        sensor.resume_execution("execute_complete", {"event": timeout}, make_context())


def test_mapped_tasks_get_the_no_retry_for_mistakes_policy_too() -> None:
    """A mapped task's partial arguments carry Airflow's default ``retry_policy=None``; the default
    policy (fail at once on a mistake a retry cannot fix) must still apply to each mapped task."""
    import pendulum
    from airflow.sdk import DAG

    with DAG("mapped", start_date=pendulum.datetime(2026, 1, 1), schedule=None):
        mapped = operators.DeployRunOperator.partial(task_id="deploy", workflow=WF_ID).expand(
            parameters=[{"a": 1}]
        )
    task = mapped.unmap({"parameters": {"a": 1}, "params": {}})
    assert task.retry_policy is not None
    assert (
        operators.DeployRunOperator(task_id="t", workflow=WF_ID, retry_policy=None).retry_policy is not None
    )


@pytest.mark.filterwarnings("ignore:Task 'typo' was never mapped")
def test_the_run_address_maps_on_sensors_and_run_operators() -> None:
    """``run_id``/``workflow_id`` are RunAddress's arguments, behind the sensor's and operator's
    own: partial() and expand() must know them, and still refuse a misspelt one."""
    import pendulum
    from airflow.sdk import DAG

    with DAG("mapped_address", start_date=pendulum.datetime(2026, 1, 1), schedule=None):
        sensor = sensors.RunStateSensor.partial(task_id="wait", workflow_id=WF_ID).expand(run_id=[RUN_ID])
        start = operators.StartRunOperator.partial(task_id="start", run_id=RUN_ID).expand(workflow_id=[WF_ID])
        with pytest.raises(TypeError, match="run_idd"):
            sensors.RunStateSensor.partial(task_id="typo", workflow_id=WF_ID).expand(run_idd=[RUN_ID])
    waited = sensor.unmap({"run_id": RUN_ID, "params": {}})
    assert (waited.workflow_id, waited.run_id) == (WF_ID, RUN_ID)
    assert start.unmap({"workflow_id": WF_ID, "params": {}}).ref.parent_id == WF_ID


#: Each waiting operator's own defaults: (poll_interval, timeout, interrupt_on_timeout).
WAIT_DEFAULTS: list[tuple[type, dict[str, Any], tuple[float, float | None, bool]]] = [
    (operators.DeployRunOperator, {"workflow": WF_ID}, (5.0, 3600.0, False)),
    (operators.StartRunOperator, IDS, (5.0, None, True)),
    (operators.InterruptRunOperator, IDS, (2.0, 600.0, False)),
    (operators.MessagePushOperator, {**IDS, "message": "hi"}, (2.0, 600.0, False)),
    (operators.RunWorkflowOperator, {"workflow": WF_ID}, (5.0, None, True)),
    (
        operators.PublishAppOperator,
        {"workflow": WF_ID, "name": "a", "workspace_id": "7"},
        (5.0, 1800.0, False),
    ),
]


@pytest.mark.parametrize(
    ("cls", "arguments", "defaults"), WAIT_DEFAULTS, ids=lambda v: getattr(v, "__name__", "")
)
def test_waiting_operators_keep_their_defaults_and_take_default_args(
    cls: type, arguments: dict[str, Any], defaults: tuple[float, float | None, bool]
) -> None:
    import pendulum
    from airflow.sdk import DAG

    op = cls(task_id="plain", deferrable=False, **arguments)
    assert (op.poll_interval, op.wait_timeout, op.interrupt_on_timeout) == defaults
    assert op.deferrable is False
    given = {"poll_interval": 7.0, "timeout": 42.0, "deferrable": True}
    with DAG("waits", start_date=pendulum.datetime(2026, 1, 1), schedule=None, default_args=given):
        op = cls(task_id="from_default_args", **arguments)
    assert (op.poll_interval, op.wait_timeout, op.deferrable) == (7.0, 42.0, True)
