"""The compatibility layer (airflow_provider_pseven/compat.py), on whichever Airflow runs the suite.

A fallback is tested on the Airflow version that needs it and skipped elsewhere with a reason
naming the version; ``make test-compat`` runs this file on every supported minor.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import airflow
import pytest

from airflow_provider_pseven import compat
from airflow_provider_pseven.tasks.xcoms import ResultXComs, xcom_key_problem

VERSION = airflow.__version__
ON_3_1 = not compat.HAS_CONN_FIELDS
NEEDS_3_1 = pytest.mark.skipif(
    not ON_3_1, reason=f"the conn-fields fallback is for Airflow 3.1; this is {VERSION}"
)
NEEDS_3_2_PLUS = pytest.mark.skipif(
    ON_3_1, reason=f"Airflow 3.2+ reads conn-fields itself; this is {VERSION}"
)
BEFORE_3_3 = pytest.mark.skipif(
    compat.HAS_TASK_STATE_STORE,
    reason=f"tests the fallback for Airflow before 3.3; this is {VERSION}",
)
ON_3_3 = pytest.mark.skipif(not compat.HAS_TASK_STATE_STORE, reason=f"needs Airflow 3.3+; this is {VERSION}")


class FakeTI:
    task_id = "start"

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.pushed: dict[str, Any] = {}
        self.refuse = refuse

    def xcom_push(self, key: str, value: Any) -> None:
        if key in self.refuse:
            raise RuntimeError("Server returned error")
        self.pushed[key] = value


class FakeTask:
    do_xcom_push = True
    log = logging.getLogger("compat_test_task")

    def __init__(self, push_result_keys: bool = True) -> None:
        self.push_result_keys = push_result_keys


def run_hook(
    hook: ResultXComs, result: Any, ti: FakeTI | None = None, task: FakeTask | None = None
) -> FakeTI:
    ti = ti or FakeTI()
    hook({"ti": ti, "task": task or FakeTask()}, result)
    return ti


# --- XCom safety ---------------------------------------------------------------------------------------


def test_a_result_dict_pushes_safe_keys_and_skips_the_rest_with_a_log_line(caplog):
    result = {
        "Block/Status": "OK",
        "Empty": None,
        "Ratio": math.nan,
        "Größe": 1.5,
        "q?x": 1,
        "Curve/item/3": 2,
        "pseven_run": "mine",
        "return_value": 3,
        "Curve": [1.0, math.inf],
        "Handle": object(),
    }
    caplog.set_level(logging.WARNING)
    task = FakeTask()
    ti = run_hook(ResultXComs(), result, task=task)

    # Safe names are pushed, None included; NaN and infinities are stored as null.
    assert ti.pushed == {"Block/Status": "OK", "Empty": None, "Ratio": None, "Curve": [1.0, None]}
    # The whole dict stays the return value: every key is still in it.
    assert set(result) == {
        "Block/Status",
        "Empty",
        "Ratio",
        "Größe",
        "q?x",
        "Curve/item/3",
        "pseven_run",
        "return_value",
        "Curve",
        "Handle",
    }
    assert result["Ratio"] is None and result["Curve"] == [1.0, None]
    skipped = [r.getMessage() for r in caplog.records if "not pushed as an XCom key" in r.getMessage()]
    assert len(skipped) == 6, skipped
    assert any("'Größe'" in m and "printable ASCII" in m for m in skipped)
    assert any("'Handle'" in m and "not JSON" in m for m in skipped)
    assert all("ti.xcom_pull(task_ids='start')[" in m for m in skipped)
    assert any("result['Ratio']" in r.getMessage() for r in caplog.records)


def test_a_push_airflow_refuses_is_logged_not_raised(caplog):
    ti = run_hook(ResultXComs(), {"a": 1, "b": 2}, FakeTI(refuse=("a",)))
    assert ti.pushed == {"b": 2}
    assert any("Airflow refused it" in r.getMessage() for r in caplog.records)


def test_no_per_key_pushes_when_turned_off_and_the_authors_hook_still_runs():
    seen = []
    hook = ResultXComs(then=lambda context, result: seen.append(result))
    task = FakeTask(push_result_keys=False)
    ti = run_hook(hook, {"a": 1}, task=task)
    assert ti.pushed == {} and seen == [{"a": 1}]


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("MyResult", True),
        ("Block/Port", True),
        ("Composite 1/Solver/Tolerance", True),
        ("a.b-c_d+e", True),
        ("", False),
        (" lead", False),
        ("/lead", False),
        ("a//b", False),
        ("trail/", False),
        ("Ergebnis-ü", False),
        ("50%", False),
        ("a#b", False),
        ("a?b", False),
        ("x/slice", False),
        ("x/item/0", False),
        ("x" * 201, False),
        ("_link_PsevenRunLink", False),
        (7, False),
    ],
)
def test_xcom_key_rules(key, ok):
    assert (xcom_key_problem(key) is None) is ok


def test_pseven_operators_push_keys_themselves_and_multiple_outputs_stays_off():
    from airflow_provider_pseven.operators import DeployRunOperator, InterruptRunOperator

    deploy = DeployRunOperator(task_id="d", workflow="ToyWorkflow")
    assert isinstance(deploy._post_execute_hook, ResultXComs)
    # Airflow's own push is never on: every read of the attribute says what Airflow will do.
    assert deploy.multiple_outputs is False and deploy.push_result_keys is True
    ti = FakeTI()
    deploy._post_execute_hook({"ti": ti, "task": deploy}, {"run_id": "r1", "path": None})
    assert ti.pushed == {"run_id": "r1", "path": None}
    assert deploy.multiple_outputs is False
    off = DeployRunOperator(task_id="d2", workflow="w", multiple_outputs=False)
    assert off.push_result_keys is False and off.multiple_outputs is False
    on = DeployRunOperator(task_id="d3", workflow="w", multiple_outputs=True)
    assert on.push_result_keys is True and on.multiple_outputs is False
    assert DeployRunOperator(task_id="d4", workflow="w", push_result_keys=False).push_result_keys is False
    interrupt = InterruptRunOperator(task_id="i", workflow_id="w", run_id="r")
    assert interrupt.push_result_keys is False


def test_the_authors_post_execute_hook_is_kept():
    from airflow_provider_pseven.operators import DeployRunOperator

    def mine(context: Any, result: Any) -> None:
        pass

    hook = DeployRunOperator(task_id="d", workflow="w", post_execute=mine)._post_execute_hook
    assert isinstance(hook, ResultXComs) and hook.then is mine


# --- retry policies (3.3) ----------------------------------------------------------------------------


@BEFORE_3_3
def test_no_retry_policy_before_3_3():
    from airflow_provider_pseven.operators import DeployRunOperator

    assert compat.HAS_RETRY_POLICY is False
    assert getattr(DeployRunOperator(task_id="d", workflow="w"), "retry_policy", None) is None
    with pytest.raises(ImportError):
        from airflow_provider_pseven.compat import ExceptionRetryPolicy  # noqa: F401


@ON_3_3
def test_retry_policy_on_3_3():
    from airflow_provider_pseven.operators import DeployRunOperator

    assert compat.HAS_RETRY_POLICY is True
    assert DeployRunOperator(task_id="d", workflow="w").retry_policy is not None


# --- the task state store (3.3) and the warning that says what differs ----------------------------------


@BEFORE_3_3
def test_older_airflow_logs_what_differs_once_per_process(monkeypatch, caplog):
    from airflow_provider_pseven.hooks import PsevenHook

    monkeypatch.setattr(compat, "_warned", False)
    caplog.set_level(logging.WARNING, logger="airflow_provider_pseven.compat")
    PsevenHook()
    PsevenHook()
    warned = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_pseven.compat"]
    assert len(warned) == 1
    assert f"Airflow {VERSION}" in warned[0] and "no task state store (Airflow 3.3+)" in warned[0]
    assert "deploys a new run" in warned[0] and "no retry policies" in warned[0]


@ON_3_3
def test_airflow_3_3_has_nothing_to_warn_about():
    from airflow.sdk import BaseHook

    assert compat.degradations() == []
    assert compat.BaseHook is BaseHook


# --- event watchers and the asset state store (3.3) ------------------------------------------------------


@BEFORE_3_3
def test_event_watchers_refused_before_3_3_naming_the_version():
    with pytest.raises(compat.AirflowException, match=r"needs Airflow 3\.3 or newer.*this is Airflow 3\."):
        compat.require_event_watchers("RunEventTrigger")


@ON_3_3
def test_event_watchers_allowed_on_3_3():
    compat.require_event_watchers("RunEventTrigger")


# --- the connection form: conn-fields (3.2+) or the hook's widgets (3.1) --------------------------------

FIELDS = {"api_path", "verify_ssl", "ca_bundle", "timeout", "require_https", "proxy"}


@pytest.fixture
def fresh_providers_manager():
    """As in a new API server process: the API server builds the form with WTForms mocked, which
    only works while ProvidersManager has not imported the hooks yet in this process."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
    from airflow.providers_manager import ProvidersManager

    ProvidersManager()._cleanup()
    HookMetaService.hook_meta_data.cache_clear()
    yield HookMetaService
    ProvidersManager()._cleanup()
    HookMetaService.hook_meta_data.cache_clear()


def _connection_type() -> dict[str, Any]:
    from airflow_provider_pseven.get_provider_info import get_provider_info

    (entry,) = get_provider_info()["connection-types"]
    return entry


@NEEDS_3_1
def test_airflow_3_1_connection_form_shows_the_provider_fields(fresh_providers_manager):
    """What the 3.1 API server sends the UI matches conn-fields and ui-field-behaviour."""
    meta = {hook.connection_type: hook for hook in fresh_providers_manager.hook_meta_data()}
    pseven = meta["pseven"]
    extra = pseven.extra_fields or {}
    entry = _connection_type()
    assert set(extra) == FIELDS == set(entry["conn-fields"])
    for name, spec in entry["conn-fields"].items():
        assert extra[name]["schema"]["title"] == spec["label"]
        assert extra[name]["value"] == spec["schema"].get("default")
    assert extra["api_path"]["schema"]["enum"] == entry["conn-fields"]["api_path"]["schema"]["enum"]
    assert "boolean" in extra["verify_ssl"]["schema"]["type"]
    behaviour = entry["ui-field-behaviour"]
    fields = pseven.standard_fields
    assert fields is not None
    for name in ("host", "login", "password"):
        field = getattr(fields, name)
        assert field is not None and field.title == behaviour["relabeling"][name]
        assert field.placeholder == behaviour["placeholders"][name]
    for name in behaviour["hidden-fields"]:
        field = getattr(fields, "url_schema" if name == "schema" else name)
        assert field is not None and field.hidden


@NEEDS_3_1
def test_airflow_3_1_hook_class_carries_the_form_methods():
    from airflow_provider_pseven.hooks import PsevenHook

    assert "get_connection_form_widgets" in PsevenHook.__dict__
    behaviour = _connection_type()["ui-field-behaviour"]
    assert PsevenHook.get_ui_field_behaviour()["hidden_fields"] == behaviour["hidden-fields"]


@NEEDS_3_2_PLUS
def test_airflow_3_2_plus_reads_conn_fields_and_the_hook_has_no_deprecated_methods():
    from airflow.providers_manager import ProvidersManager

    from airflow_provider_pseven.hooks import PsevenHook

    assert "get_connection_form_widgets" not in PsevenHook.__dict__
    assert "get_ui_field_behaviour" not in PsevenHook.__dict__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning for hook-defined form methods
        widgets = ProvidersManager().connection_form_widgets
    assert {name.removeprefix("extra__pseven__") for name in widgets if "__pseven__" in name} == FIELDS
