"""Ids are checked where a path is built: no dot segment, slash or control character reaches a URL."""

from __future__ import annotations

import pytest

from airflow_provider_pseven.client import PsevenConfigError, RunKind, RunRef
from airflow_provider_pseven.client import operations as ops
from airflow_provider_pseven.client.appshub import get_app, resolve_app
from airflow_provider_pseven.client.ids import check_id, is_literal

WF = "0" * 32
BAD = ["", " ", ".", "..", " .. ", "a/b", "../x", "a\\b", "a\nb", "a\x1bb", "a\x00b", "a\x85b", "\x7f"]


@pytest.mark.parametrize("bad", BAD)
def test_a_run_id_that_is_no_single_segment_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(PsevenConfigError, match=r"run_id|empty") as info:
        RunRef.workflow(WF, bad)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


@pytest.mark.parametrize("bad", BAD)
def test_a_parent_id_that_is_no_single_segment_is_refused_everywhere(bad: str) -> None:
    with pytest.raises(PsevenConfigError, match=r"app_id|empty"):
        RunRef.app(bad, "r1")
    with pytest.raises(PsevenConfigError, match="workflow_id"):
        ops.runs_path(RunKind.WORKFLOW, bad)
    with pytest.raises(PsevenConfigError, match="workflow_id"):
        next(ops.get_workflow(bad))
    with pytest.raises(PsevenConfigError, match="app_id"):
        next(get_app(bad))


def test_the_message_says_where_ids_come_from() -> None:
    with pytest.raises(PsevenConfigError) as info:
        RunRef.workflow(WF, "..")
    message = str(info.value)
    assert "'..'" in message and "dot segment" in message and "XCom" in message


@pytest.mark.parametrize("good", ["3f2a", f"{WF}@3", "run-1_x", "r.1", "...", "ü"])
def test_ordinary_ids_and_pinned_app_versions_pass(good: str) -> None:
    assert check_id("app_id", good) == good
    ref = RunRef.app(good, good)
    assert ".." not in ref.path().split("/")


def test_a_pinned_app_version_passes_the_check_and_runs_under_the_plain_id() -> None:
    # The check lets `id@N` through; the runs path takes the plain id, as the guide shows app runs.
    assert RunRef.app(f"{WF}@2", "r1").path() == f"apps/{WF}/runs/r1/"


def test_templates_are_not_literals() -> None:
    assert is_literal("abc") and not is_literal("{{ ti.xcom_pull('d')['run_id'] }}")
    assert not is_literal(None) and not is_literal(123)


@pytest.mark.parametrize("spec", ["/Users/1/Toy.p7wf", "..", "../x", "My Toy", f"{WF}/.."])
def test_workflow_names_and_paths_are_looked_up_in_the_list_never_put_in_a_path(spec: str) -> None:
    first = next(ops.resolve_workflow(spec))
    assert (first.method, first.path) == ("GET", "workflows/")


@pytest.mark.parametrize("spec", ["My App", "..", f"{WF}@x"])
def test_app_names_are_looked_up_in_the_list_never_put_in_a_path(spec: str) -> None:
    first = next(resolve_app(spec))
    assert (first.method, first.path) == ("GET", "apps/")
