"""``@task.pseven``: the function's return value becomes the run's parameters, checked before
anything is deployed, recomputed when the task resumes in a new process, and masked when declared
Secret; the rest is RunWorkflowOperator's cycle."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock
from af_support import P2_ID, RUN_URL, WF_ID, make_context, sent, sent_to, std_log
from test_af_run_workflow import event as run_event
from test_af_run_workflow import fake_server

from airflow_provider_pseven.compat import AirflowFailException, TaskDeferred
from airflow_provider_pseven.decorators import pseven_task
from airflow_provider_pseven.decorators.pseven import PsevenDecoratedOperator, checked_parameters
from airflow_provider_pseven.operators import RunWorkflowOperator


def decorated(function: Any, *args: Any, **kwargs: Any) -> PsevenDecoratedOperator:
    kwargs.setdefault("deferrable", True)
    op = pseven_task(task_id="task_1", workflow=WF_ID, **kwargs)(function)(*args).operator
    assert isinstance(op, PsevenDecoratedOperator)
    return std_log(op)


def event(state: str) -> dict[str, Any]:
    return run_event("success", state)


@pytest.mark.parametrize(
    ("returned", "complaint"),
    [
        (None, "it returned a NoneType"),
        ([("x", 1.0)], "it returned a list"),
        ("x=1.0", "it returned a str"),
        ({1: 1.0}, "its keys must be non-empty strings, not 1 (int)"),
        ({"": 1.0}, "its keys must be non-empty strings, not '' (str)"),
    ],
)
def test_a_wrong_shape_shows_the_expected_one(returned: Any, complaint: str) -> None:
    with pytest.raises(AirflowFailException) as failed:
        checked_parameters(returned, "design")
    message = str(failed.value)
    assert "design() must return the run's parameters as a dict {parameter name or id: value}" in message
    assert "return {'MyFirstParameter': 'text', 'MySecondParameter': 3.14}" in message
    assert complaint in message


def test_a_wrong_shape_names_no_value() -> None:
    """A value may be a Secret: the message names the type and the keys only."""
    with pytest.raises(AirflowFailException) as failed:
        checked_parameters("SECRET-VALUE-xyz", "design")
    assert "SECRET-VALUE-xyz" not in str(failed.value)


def test_a_wrong_shape_fails_before_anything_is_deployed(requests_mock: requests_mock.Mocker) -> None:
    fake_server(requests_mock, "CONFIGURATION")
    op = decorated(lambda: ["x", 2.0])
    with pytest.raises(AirflowFailException, match="it returned a list"):
        op.execute(make_context())
    assert sent(requests_mock, "POST") == []


def test_function_arguments_and_context_reach_the_function(requests_mock: requests_mock.Mocker) -> None:
    fake_server(requests_mock, "QUEUED_TO_INITIALIZE")
    seen: list[Any] = []

    def design(scale: float, ti: Any = None) -> dict[str, float]:
        seen.append((scale, ti.task_id))
        return {"x": scale * 2}

    op = decorated(design, 1.5)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    assert deferred.value.method_name == "resume_configured"
    assert seen == [(1.5, "task_1")]
    assert op.parameters == {"x": 3.0}
    assert sent(requests_mock, "PATCH") == []  # parameters wait for CONFIGURATION


def test_resuming_in_a_new_process_calls_the_function_again(requests_mock: requests_mock.Mocker) -> None:
    """The values are kept nowhere (a value may be a Secret); a resumed task recomputes them."""
    run = fake_server(requests_mock, "CONFIGURATION")
    calls: list[int] = []

    def design() -> dict[str, float]:
        calls.append(1)
        return {"x": 2.0}

    fresh = decorated(design)  # as Airflow builds the task anew for resume_configured
    with pytest.raises(TaskDeferred) as deferred:
        fresh.resume_configured(make_context(), event("CONFIGURATION"))
    assert deferred.value.method_name == "resume_finished"
    assert calls == [1]
    [patch] = sent(requests_mock, "PATCH")
    assert {p["id"]: p["value"]["data"] for p in patch.json()["parameters"]}[P2_ID] == 2.0
    assert len(sent_to(requests_mock, "POST", f"{RUN_URL}run/")) == 1
    assert run.state == "QUEUED_TO_RUN"


def test_a_wrong_shape_after_resuming_deletes_the_run(requests_mock: requests_mock.Mocker) -> None:
    run = fake_server(requests_mock, "CONFIGURATION")
    op = decorated(lambda: "not a dict")
    with pytest.raises(AirflowFailException, match="it returned a str"):
        op.resume_configured(make_context(), event("CONFIGURATION"))
    assert run.gone
    assert sent_to(requests_mock, "POST", f"{RUN_URL}run/") == []


def test_the_finished_run_returns_its_results(requests_mock: requests_mock.Mocker) -> None:
    fake_server(requests_mock, "FINISHED")
    op = decorated(lambda: {"x": 2.0})
    assert op.resume_finished(make_context(), event("FINISHED")) == {"y": 6.25}


def test_declared_secrets_are_masked_as_the_function_returns(
    requests_mock: requests_mock.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    masked: list[str] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda value, name=None: masked.append(value))
    fake_server(requests_mock, "QUEUED_TO_INITIALIZE")
    op = decorated(lambda: {"password": "{{ not a template }}", "x": 1.0}, secret_parameters=["password"])
    with pytest.raises(TaskDeferred):
        op.execute(make_context())
    assert masked[0] == "{{ not a template }}", "a returned value is no template: masked as it is"


def test_a_declared_secret_the_function_does_not_return_fails(requests_mock: requests_mock.Mocker) -> None:
    fake_server(requests_mock, "CONFIGURATION")
    op = decorated(lambda: {"x": 1.0}, secret_parameters=["password"])
    with pytest.raises(ValueError, match="secret_parameters names 'password'"):
        op.execute(make_context())
    assert sent(requests_mock, "POST") == []


def test_parameters_argument_is_refused() -> None:
    with pytest.raises(TypeError, match="the decorated function returns the run's parameters"):
        decorated(lambda: {}, parameters={"x": 1.0})


def test_its_arguments_are_run_workflow_operators() -> None:
    op = decorated(lambda: {}, files=["{{ ti.xcom_pull('prep') }}"], delete_after=True, poll_interval=2.0)
    assert isinstance(op, RunWorkflowOperator)
    assert {"files", "downloads", "workflow", "op_kwargs"} <= set(op.template_fields)
    assert op.delete_after and op.poll_interval == 2.0
    assert op.push_result_keys, "results keys are XComs of their own, as RunWorkflowOperator's"
    assert not decorated(lambda: {}, multiple_outputs=False).push_result_keys


def test_task_pseven_is_this_decorator() -> None:
    """Airflow finds it through the provider info's task-decorators."""
    from airflow.sdk import task

    assert task.pseven is pseven_task


def test_partial_and_expand_build_a_mapped_task() -> None:
    import pendulum
    from airflow.sdk import DAG

    with DAG("d", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):

        @pseven_task(workflow=WF_ID)
        def point(value: float, label: str) -> dict[str, Any]:
            return {"x": value, "label": label}

        mapped = point.partial(label="a").expand(value=[1.0, 2.0]).operator
    assert mapped.operator_class is PsevenDecoratedOperator
    assert mapped.partial_kwargs["workflow"] == WF_ID
    assert mapped.partial_kwargs["op_kwargs"] == {"label": "a"}


def test_the_decorator_module_imports_nothing_heavy_beyond_the_operators() -> None:
    """Airflow imports it in the task process of a DAG that uses @task.pseven."""
    import json
    import subprocess
    import sys

    script = (
        "import json, sys, airflow.sdk; import airflow_provider_pseven.operators as ops; "
        "[getattr(ops, name) for name in ops.__all__]; before = set(sys.modules); "
        "import airflow_provider_pseven.decorators.pseven; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    added = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = ("httpx", "fastapi", "pyarrow", "openlineage", "starlette", "uvicorn", "s3fs", "gcsfs")
    heavy += ("airflow_provider_pseven.emulator", "airflow_provider_pseven.lineage")
    assert not [name for name in added if name.startswith(heavy)], added


def test_the_typed_signature_of_task_pseven_is_run_workflow_operators() -> None:
    """``pseven_task``'s keyword overload exists so that type checkers and IDEs see typed arguments;
    it must say what RunWorkflowOperator and its bases take, with the same types and defaults (all
    but ``parameters``, which the function returns, and ``push_result_keys``, which
    ``multiple_outputs`` sets)."""
    import inspect
    import typing

    def keywords(function: Any) -> dict[str, tuple[Any, Any]]:
        return {
            name: (p.default, p.annotation)
            for name, p in inspect.signature(function).parameters.items()
            if p.kind is p.KEYWORD_ONLY
        }

    declared: dict[str, tuple[Any, Any]] = {}
    for cls in RunWorkflowOperator.__mro__:
        if cls.__module__.startswith("airflow_provider_pseven") and "__init__" in vars(cls):
            declared.update(keywords(cls.__init__))
    for name in ("parameters", "push_result_keys"):
        declared.pop(name)
    typed = keywords(typing.get_overloads(pseven_task)[1])
    assert typed.pop("multiple_outputs") == (None, "bool | None")
    assert typed == declared
