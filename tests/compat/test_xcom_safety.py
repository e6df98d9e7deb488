"""A run whose results Airflow refuses as XCom keys or values of their own never fails its task.

Real Airflow (``dag.test()``, the execution API in process) against the emulator, on whichever
Airflow runs the suite: ``make test-compat`` runs it on 3.1 and 3.2 too.
"""

from __future__ import annotations

import pytest

from tests.compat.conftest import workflows_with_awkward
from tests.integration.airflow_harness import run_dag, task_states, xcom

ALL_NAMES = sorted(["Block/Status", "Other/Status", "Empty", "Ratio", "Größe", "Curve", "pseven_run"])


@pytest.mark.integration
@pytest.mark.pseven_emulator(workflows=workflows_with_awkward(), time_scale=0.05)
@pytest.mark.parametrize("deferrable", ["true", "false"])
def test_awkward_result_names_and_values_never_fail_the_task(pseven_connection, monkeypatch, deferrable):
    monkeypatch.setenv("PSEVEN_IT_DEFERRABLE", deferrable)

    dag_run = run_dag("compat_xcom.py", "compat_xcom_safety")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    for task_id in ("start", "cycle"):
        whole = xcom(dag_run, task_id)
        assert sorted(whole) == ALL_NAMES, task_id  # the whole dict is the return value
        assert whole["Block/Status"] == "OK" and whole["Empty"] is None
        assert whole["Ratio"] is None and whole["Curve"] == [1.0, None, 2.0]  # NaN, inf: null
        assert whole["Größe"] == 1.5
        assert xcom(dag_run, task_id, key="Block/Status") == "OK"
        assert xcom(dag_run, task_id, key="Curve") == [1.0, None, 2.0]
        assert xcom(dag_run, task_id, key="Größe") is None  # not a key of its own
    # RunWorkflowOperator's own "pseven_run" key is not overwritten by the result of that name.
    assert xcom(dag_run, "cycle", key="pseven_run")["run_id"]
    assert xcom(dag_run, "check") == {"status": "OK", "empty": None, "names": ALL_NAMES}
