"""``secret_parameters``: a declared Secret is masked as the task renders its templates (before the
rendered fields are stored or sent), a literal one as the DAG is parsed; a value sent to a
parameter that reads as a possible Secret is masked before the PATCH; results echoing a known
secret are redacted."""

from __future__ import annotations

import json
from typing import Any

import jinja2
import pytest
import requests_mock
from af_support import (
    RUN_ID,
    RUN_URL,
    SECRET_VALUE,
    WF_ID,
    FakeRun,
    make_context,
    param_json,
    std_log,
)
from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields
from test_af_secrets import PARAMETER_OPERATORS

from airflow_provider_pseven.client import PsevenError
from airflow_provider_pseven.operators import GetRunResultsOperator, PatchParametersOperator

TEMPLATE = "{{ var_value }}"


@pytest.mark.parametrize(("cls", "ids"), PARAMETER_OPERATORS)
def test_a_declared_secret_is_masked_as_templates_render(
    cls: type, ids: dict[str, Any], real_masker: Any
) -> None:
    # "license_code" is no word Airflow's masker hides by itself: only the declaration masks it.
    op = cls(
        task_id="t", parameters={"license_code": TEMPLATE, "x": 1}, secret_parameters=["license_code"], **ids
    )
    op.render_template_fields({"var_value": SECRET_VALUE}, jinja2.Environment())
    assert op.parameters["license_code"] == SECRET_VALUE  # rendered for execute, and only masked
    stored = json.loads(json.dumps(_serialize_rendered_fields(op)))
    assert stored["parameters"] == {"license_code": "***", "x": 1}


def test_an_undeclared_secret_under_an_innocent_name_is_not_masked_at_render(real_masker: Any) -> None:
    """The gap the declaration closes (what Airflow alone does)."""
    op = PatchParametersOperator(task_id="t", workflow_id=WF_ID, run_id=RUN_ID, parameters={"lic": TEMPLATE})
    op.render_template_fields({"var_value": SECRET_VALUE}, jinja2.Environment())
    assert SECRET_VALUE in json.dumps(_serialize_rendered_fields(op))


def test_a_literal_secret_is_masked_when_the_dag_is_parsed_and_a_template_only_once_rendered(
    masked: list[Any],
) -> None:
    PatchParametersOperator(
        task_id="t",
        workflow_id=WF_ID,
        run_id=RUN_ID,
        parameters={"lic": SECRET_VALUE},
        secret_parameters=["lic"],
    )
    assert masked == [SECRET_VALUE]
    op = PatchParametersOperator(
        task_id="u", workflow_id=WF_ID, run_id=RUN_ID, parameters={"lic": TEMPLATE}, secret_parameters=["lic"]
    )
    assert masked == [SECRET_VALUE]  # the template's text is not the Secret
    op.parameters = {"lic": "assigned-later"}  # as Airflow assigns a rendered field, or unmaps a task
    assert masked == [SECRET_VALUE, "assigned-later"]


def test_a_secret_declared_under_another_spelling_is_refused_at_parse() -> None:
    with pytest.raises(ValueError, match=r"secret_parameters names 'License', which parameters does not"):
        PatchParametersOperator(
            task_id="t",
            workflow_id=WF_ID,
            run_id=RUN_ID,
            parameters={"lic": "x"},
            secret_parameters=["License"],
        )


def test_secret_parameters_must_be_a_list_of_names() -> None:
    with pytest.raises(TypeError, match=r"secret_parameters=\['lic'\]"):
        PatchParametersOperator(
            task_id="t", workflow_id=WF_ID, run_id=RUN_ID, parameters={"lic": "x"}, secret_parameters="lic"
        )


def test_a_value_for_a_parameter_that_reads_null_is_masked_before_the_patch(
    requests_mock: requests_mock.Mocker, masked: list[Any]
) -> None:
    """Undeclared, under an innocent name: the run reads it as null (maybe an unset Secret), so its
    value is masked before the PATCH, whose 400 then cannot show it anywhere."""
    FakeRun(requests_mock, "CONFIGURATION", parameters=[param_json("p1", "lic", None, "Secret")])
    requests_mock.patch(RUN_URL, status_code=400, json={"status": 400, "message": "Bad Request"})
    op = std_log(
        PatchParametersOperator(
            task_id="t", workflow_id=WF_ID, run_id=RUN_ID, parameters={"lic": SECRET_VALUE}
        )
    )
    with pytest.raises(PsevenError):
        op.execute(make_context())
    assert SECRET_VALUE in masked


def test_a_value_for_a_parameter_that_reads_a_value_is_not_masked(
    requests_mock: requests_mock.Mocker, masked: list[Any]
) -> None:
    FakeRun(requests_mock, "CONFIGURATION", parameters=[param_json("p1", "label", "old", "String")])
    op = std_log(
        PatchParametersOperator(task_id="t", workflow_id=WF_ID, run_id=RUN_ID, parameters={"label": "new"})
    )
    assert op.execute(make_context()) == {"label": "new"}
    assert "new" not in masked


def test_results_that_echo_a_known_secret_are_redacted(
    requests_mock: requests_mock.Mocker, real_masker: Any
) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret(SECRET_VALUE)
    results = [param_json("r1", "echo", f"got {SECRET_VALUE}", "String"), param_json("r2", "n", 3, "Integer")]
    FakeRun(requests_mock, "FINISHED", results=results)
    op = std_log(GetRunResultsOperator(task_id="t", workflow_id=WF_ID, run_id=RUN_ID))
    assert op.execute(make_context()) == {"echo": "got ***", "n": 3}
