"""Secrets never leak: neither the API token nor a Secret parameter value appears in any log record
(caplog at DEBUG, and the Task SDK's own log output on stdout/stderr), exception message or XCom."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jinja2
import pytest
import requests_mock
from af_support import (
    PSEVEN,
    RUN_ID,
    RUN_URL,
    RUNS_URL,
    SECRET_ID,
    SECRET_VALUE,
    TOKEN,
    WF_ID,
    FakeClock,
    FakeRun,
    make_context,
    param_json,
    sent,
    std_log,
    workflow_json,
)
from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields

from airflow_provider_pseven.client import PsevenError
from airflow_provider_pseven.compat import AirflowException, AirflowFailException
from airflow_provider_pseven.hooks import PsevenHook
from airflow_provider_pseven.operators import DeployRunOperator, PatchParametersOperator, RunWorkflowOperator

LEAKS = (SECRET_VALUE, TOKEN)
RESULTS = [param_json("r1", "y", 1.0, "Real"), param_json("r2", "echo", "", "Secret")]


def assert_clean(where: str, text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked into {where}"


def assert_logs_clean(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    assert caplog.records, "the run logged nothing: the check would be vacuous"
    for record in caplog.records:
        assert_clean(f"log record {record.name}", record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            assert_clean("a logged exception", str(record.exc_info[1]))
    out, err = capfd.readouterr()
    assert_clean("stdout", out)
    assert_clean("stderr", err)


def exception_chain(error: BaseException | None) -> list[str]:
    texts = []
    while error is not None:
        texts.append(f"{type(error).__name__}: {error} {error.args!r}")
        error = error.__cause__ or error.__context__
    return texts


def server(m: requests_mock.Mocker, *states: str, clock: FakeClock | None = None) -> FakeRun:
    m.get(f"{PSEVEN}workflows/{WF_ID}/", json=workflow_json())
    run = FakeRun(m, *states, clock=clock, results=RESULTS)
    m.get(RUNS_URL, json=[])
    m.post(RUNS_URL, json=lambda request, context: run.as_json(), status_code=201)
    return run


def test_deploy_with_a_secret_parameter_logs_nothing_secret(
    requests_mock: requests_mock.Mocker,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    masked: list[Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    run = server(requests_mock, "QUEUED_TO_INITIALIZE", "CONFIGURATION", clock=clock)
    context = make_context()
    op = std_log(
        DeployRunOperator(
            task_id="task_1",
            workflow=WF_ID,
            parameters={"password": SECRET_VALUE, "label": "visible"},
            deferrable=False,
        )
    )
    result = op.execute(context)
    # The value did travel to the server, and only there.
    assert run.secret_values == {SECRET_ID: SECRET_VALUE}
    [patch] = sent(requests_mock, "PATCH")
    assert SECRET_VALUE in patch.text
    assert patch.headers["Authorization"] == f"Token {TOKEN}"
    assert SECRET_VALUE in masked and TOKEN in masked
    assert_clean("the returned XCom", json.dumps(result))
    assert_clean("pushed XComs", json.dumps(context["ti"].pushed))
    assert any("Set parameters of run" in r.getMessage() for r in caplog.records)
    assert_logs_clean(caplog, capfd)


def test_patch_returns_the_secret_as_empty(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    FakeRun(requests_mock, "CONFIGURATION")
    op = PatchParametersOperator(
        task_id="p", workflow_id=WF_ID, run_id=RUN_ID, parameters={SECRET_ID: SECRET_VALUE, "x": 3.0}
    )
    std_log(op)
    result = op.execute(make_context())
    assert result == {"password": "", "x": 3.0}
    assert_logs_clean(caplog, capfd)


def test_a_patch_that_did_not_take_fails_without_showing_the_value(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    run = FakeRun(requests_mock, "CONFIGURATION")
    requests_mock.patch(RUN_URL, json=run.as_json())  # the server ignores the new values
    op = std_log(
        PatchParametersOperator(
            task_id="p", workflow_id=WF_ID, run_id=RUN_ID, parameters={"password": SECRET_VALUE}
        )
    )
    with pytest.raises(PsevenError, match="did not apply the values of password") as raised:
        op.execute(make_context())
    for text in exception_chain(raised.value):
        assert_clean("the exception", text)
    assert_logs_clean(caplog, capfd)


def test_a_server_error_on_patch_does_not_echo_the_body(
    requests_mock: requests_mock.Mocker, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    FakeRun(requests_mock, "CONFIGURATION")
    requests_mock.patch(RUN_URL, status_code=500, text="Internal Server Error")
    op = std_log(
        PatchParametersOperator(
            task_id="p", workflow_id=WF_ID, run_id=RUN_ID, parameters={"password": SECRET_VALUE}
        )
    )
    with pytest.raises(PsevenError, match="HTTP 500") as raised:
        op.execute(make_context())
    for text in exception_chain(raised.value):
        assert_clean("the exception", text)
    assert_logs_clean(caplog, capfd)


def test_whole_cycle_failing_run_with_secrets(
    requests_mock: requests_mock.Mocker,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = server(requests_mock, "CONFIGURATION", clock=clock)
    run.on_start = ["RUNNING", "FAILED"]
    requests_mock.get(f"{RUN_URL}download/", text="step 1\nstep 2 failed\n")
    op = std_log(
        RunWorkflowOperator(
            task_id="task_1",
            workflow=WF_ID,
            parameters={"password": SECRET_VALUE},
            deferrable=False,
            delete_after=True,
        )
    )
    # A FAILED run is retryable (a retry deploys a new run); the reason is in the exception.
    with pytest.raises(
        AirflowException, match=r"ended FAILED\. The run log ends with:\nstep 2 failed"
    ) as raised:
        op.execute(make_context())
    assert not isinstance(raised.value, AirflowFailException)
    for text in exception_chain(raised.value):
        assert_clean("the exception", text)
    assert run.gone
    assert any("step 2 failed" in r.getMessage() for r in caplog.records)
    assert_logs_clean(caplog, capfd)


def test_whole_cycle_through_the_sdk_logger(
    requests_mock: requests_mock.Mocker, clock: FakeClock, capfd: pytest.CaptureFixture[str]
) -> None:
    """Without redirecting the operator's logger: the Task SDK's structlog output is clean too."""
    run = server(requests_mock, "CONFIGURATION", clock=clock)
    op = RunWorkflowOperator(
        task_id="task_1", workflow=WF_ID, parameters={"password": SECRET_VALUE}, deferrable=False
    )
    result = op.execute(make_context())
    assert result == {"y": 1.0, "echo": ""}
    assert run.secret_values == {SECRET_ID: SECRET_VALUE}
    out, err = capfd.readouterr()
    assert "results" in out + err  # the SDK logger did write: the check is not vacuous
    assert_clean("stdout", out)
    assert_clean("stderr", err)


def test_config_and_client_reprs_hide_the_token() -> None:
    hook = PsevenHook()
    assert_clean("repr(config)", repr(hook.config))
    assert_clean("repr(client)", repr(hook.client) + repr(vars(hook.client.core)["config"]))


# --- rendered template fields (the UI's "Rendered Template" tab) -------------------------------------
# These use Airflow's real secret masker, so they come last in this module and restore it afterwards.


PARAMETER_OPERATORS = [
    (PatchParametersOperator, {"workflow_id": WF_ID, "run_id": RUN_ID}),
    (DeployRunOperator, {"workflow": WF_ID}),
    (RunWorkflowOperator, {"workflow": WF_ID}),
]


def rendered_patch_operator() -> PatchParametersOperator:
    # "license_code" is not a name Airflow's masker hides by itself (unlike "password" or "token").
    op = PatchParametersOperator(
        task_id="p", workflow_id=WF_ID, run_id=RUN_ID, parameters={"license_code": "{{ var_value }}"}
    )
    op.render_template_fields({"var_value": SECRET_VALUE}, jinja2.Environment())
    return op


def test_after_execution_the_rendered_secret_is_redacted(
    requests_mock: requests_mock.Mocker, real_masker: Any
) -> None:
    FakeRun(
        requests_mock, "CONFIGURATION", parameters=[param_json(SECRET_ID, "license_code", None, "Secret")]
    )
    op = std_log(rendered_patch_operator())
    assert SECRET_VALUE in json.dumps(_serialize_rendered_fields(op))  # before: Airflow cannot know
    assert op.execute(make_context()) == {"license_code": ""}
    assert json.loads(json.dumps(_serialize_rendered_fields(op)))["parameters"] == {"license_code": "***"}


@pytest.mark.parametrize(("cls", "ids"), PARAMETER_OPERATORS)
def test_operators_with_parameters_overwrite_rendered_fields_after_execution(
    cls: type, ids: dict[str, Any]
) -> None:
    # Rendered fields are sent before execute() knows which parameters are Secrets; Airflow re-sends
    # them (redacted by then) after execution only when the operator asks for it.
    assert cls(task_id="t", parameters={"x": 1}, **ids).overwrite_rtif_after_execution is True


@pytest.mark.parametrize("guarded", [True, False])
def test_the_rendered_fields_are_not_resent_for_a_retried_try_where_that_fails(
    monkeypatch: pytest.MonkeyPatch, guarded: bool
) -> None:
    """Task SDK before 1.1.8 fails finalize when it re-sends the rendered fields of a try that went
    up for retry (its task instance is the next try's by then): the operator then declines."""
    from types import SimpleNamespace

    from airflow_provider_pseven.operators import base

    monkeypatch.setattr(base, "RTIF_RESEND_GUARDED", guarded)
    op = PatchParametersOperator(task_id="t", workflow_id="w", run_id="r", parameters={"x": 1})
    ti = SimpleNamespace(state="running")
    op.pre_execute({"ti": ti})
    for state, resent in [("success", True), ("failed", True), ("deferred", True), ("up_for_retry", guarded)]:
        ti.state = state
        assert op.overwrite_rtif_after_execution is resent, state
    op.overwrite_rtif_after_execution = False  # a DAG author may switch it off
    ti.state = "success"
    assert op.overwrite_rtif_after_execution is False
