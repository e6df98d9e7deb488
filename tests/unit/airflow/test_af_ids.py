"""Ids at the address: a literal bad id fails when the DAG is parsed, a templated one once rendered,
before any request (requests-mock answers nothing, so a request would fail the test differently)."""

from __future__ import annotations

import pytest
import requests_mock
from af_support import RUN_ID, WF_ID, make_context, std_log

from airflow_provider_pseven.client import PsevenConfigError
from airflow_provider_pseven.operators import DeleteRunOperator, InterruptRunOperator
from airflow_provider_pseven.sensors import RunStateSensor


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b", "a\nb"])
def test_a_literal_bad_run_id_fails_at_parse_time(bad: str) -> None:
    with pytest.raises(PsevenConfigError, match="run_id"):
        DeleteRunOperator(task_id="d", workflow_id=WF_ID, run_id=bad)
    with pytest.raises(PsevenConfigError, match="run_id"):
        RunStateSensor(task_id="s", workflow_id=WF_ID, run_id=bad)


@pytest.mark.parametrize("bad", ["..", "x/..", "\x1b[2J"])
def test_a_literal_bad_parent_id_fails_at_parse_time(bad: str) -> None:
    with pytest.raises(PsevenConfigError, match="workflow_id"):
        DeleteRunOperator(task_id="d", workflow_id=bad, run_id=RUN_ID)
    with pytest.raises(PsevenConfigError, match="app_id"):
        InterruptRunOperator(task_id="i", app_id=bad, run_id=RUN_ID)


def test_a_templated_id_that_renders_to_a_dot_segment_fails_before_any_request(
    requests_mock: requests_mock.Mocker,
) -> None:
    op = std_log(DeleteRunOperator(task_id="d", workflow_id=WF_ID, run_id="{{ params.rid }}"))
    op.run_id = ".."  # what rendering the template gave
    with pytest.raises(PsevenConfigError, match=r"'\.\.'.*dot segment"):
        op.execute(make_context())
    assert requests_mock.request_history == []
