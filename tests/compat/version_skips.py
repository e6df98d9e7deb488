"""pytest plugin (``-p tests.compat.version_skips``, set in pyproject's addopts): tests of features
that only newer Airflow has skip on older Airflow, with a reason naming the version.

One table, so what the suite does not check on 3.1 and 3.2 is in one place; each entry says what
covers the older version instead. Tests that only need a moved import use airflow_provider_pseven.compat. Nothing here imports
Airflow before tests/conftest.py has configured it.
"""

from __future__ import annotations

import pytest

CONN_FIELDS = (
    "conn-fields and ui-field-behaviour are read from provider info by Airflow 3.2+; on "
    "{version} the hook's form methods serve the form (tests/compat/test_compat.py)"
)
RETRY_POLICY = "retry policies are Airflow 3.3+; on {version} mistakes use up the task's retries"
EVENT_WATCHERS = (
    "event watchers with shared trigger streams and the asset state store are Airflow 3.3+; on "
    "{version} RunEventTrigger refuses with a message naming the version"
)
DAG_TEST_EXCEPTION = (
    "dag.test() passes failure callbacks context['exception'] from Airflow 3.2 on; on {version} only "
    "real workers do (the exception text itself is tested by the unit suites)"
)

#: (node id, or the start of one) -> (the oldest Airflow that has the feature, why)
NEEDS: dict[str, tuple[tuple[int, int], str]] = {
    "tests/unit/airflow/test_af_provider_info.py::test_hook_and_extra_link_are_registered": (
        (3, 2),
        "ProvidersManagerTaskRuntime is Airflow 3.2+; on {version} the provider-info tests above cover it",
    ),
    "tests/unit/airflow/test_af_provider_info.py::test_connection_form_widgets_are_the_extras": (
        (3, 2),
        CONN_FIELDS,
    ),
    "tests/unit/airflow/test_af_provider_info.py::test_field_behaviours_hide_and_relabel": (
        (3, 2),
        CONN_FIELDS,
    ),
    "tests/unit/airflow/test_af_provider_info.py::test_ui_hook_meta_as_the_api_server_builds_it": (
        (3, 2),
        CONN_FIELDS,
    ),
    "tests/unit/airflow/test_af_standard_arguments.py::test_mapped_tasks_get_the_no_retry_for_mistakes_policy_too": (
        (3, 3),
        RETRY_POLICY,
    ),
    "tests/integration/test_idempotency.py::test_a_mistake_in_the_dag_is_not_retried": ((3, 3), RETRY_POLICY),
    "tests/integration/test_defects.py::test_a_typo_in_parameters_leaves_no_run_behind": (
        (3, 3),
        RETRY_POLICY + ", so each retry deploys again",
    ),
    "tests/integration/test_idempotency.py::test_lost_deploy_answer_and_retries_leave_one_run": (
        (3, 3),
        "the task state store is Airflow 3.3+; on {version} a retry of a deploying task deploys a new "
        "run, with a warning (docs/compatibility.md)",
    ),
    # RunEventTrigger refuses before 3.3 (compat.require_event_watchers, tested in tests/compat).
    "tests/unit/airflow/test_af_run_event.py::": ((3, 3), EVENT_WATCHERS),
    "tests/integration/test_events.py::": ((3, 3), EVENT_WATCHERS),
    "tests/unit/airflow/test_af_assets.py::test_the_pseven_scheme_is_registered_valid_against_airflows_schema": (
        (3, 2),
        "the test reads ProvidersManagerTaskRuntime, Airflow 3.2+",
    ),
    "tests/unit/airflow/test_af_assets.py::test_attach_to_outlets_updates_the_event_of_every_asset_outlet": (
        (3, 2),
        "the test keys a dict by Asset, which is hashable from Airflow 3.2 (3.1 hashes its extra dict)",
    ),
    "tests/integration/test_defects.py::test_a_failed_run_is_retried_and_the_exception_says_why": (
        (3, 2),
        DAG_TEST_EXCEPTION,
    ),
    "tests/integration/test_defects.py::test_a_step_of_a_failed_run_fails_at_once_saying_how_to_rerun": (
        (3, 2),
        DAG_TEST_EXCEPTION,
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Imported here, not at the top: tests/conftest.py configures Airflow before its first import.
    import airflow

    from airflow_provider_pseven.compat import AIRFLOW_VERSION

    for item in items:
        for prefix, (oldest, why) in NEEDS.items():
            if item.nodeid.startswith(prefix) and AIRFLOW_VERSION[:2] < oldest:
                reason = f"needs Airflow {oldest[0]}.{oldest[1]}+: " + why.format(version=airflow.__version__)
                item.add_marker(pytest.mark.skip(reason=reason))
