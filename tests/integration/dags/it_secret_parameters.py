"""Integration DAGs: a Secret from a Variable whose key has no sensitive word, under a parameter
name with none either, through the success path and each failure path of setting up a run, one
DAG each (tests/integration/test_secret_parameters.py adds the ``Licensed`` workflow to the
emulator and runs each DAG with a fresh secret masker, as a task process of its own would have).

All but ``it_sp_undeclared`` declare it in ``secret_parameters``; that one does not, so it is
masked only once the run reads the parameter as a possible Secret.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_pseven.operators import DeployRunOperator, RunWorkflowOperator

WORKFLOW = "/Users/1/Licensed.p7wf"
LICENSE = "{{ var.value.solver_license }}"
#: ``Size`` 13 is the value the test's server does not apply ("did not apply").
NOT_APPLIED = 13
DECLARED = {"secret_parameters": ["License"]}


def one_task_dag(dag_id: str, operator: type, **kwargs: Any) -> DAG:
    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
        operator(task_id="task", workflow=WORKFLOW, deferrable=False, poll_interval=0.2, retries=0, **kwargs)
    return dag


success = one_task_dag(
    "it_sp_success", RunWorkflowOperator, parameters={"License": LICENSE, "Size": 3}, **DECLARED
)
misspelt_other = one_task_dag(
    "it_sp_misspelt_other", DeployRunOperator, parameters={"License": LICENSE, "Sise": 3}, **DECLARED
)
bad_request = one_task_dag(
    "it_sp_bad_request", DeployRunOperator, parameters={"License": LICENSE, "Size": "three"}, **DECLARED
)
did_not_apply = one_task_dag(
    "it_sp_did_not_apply",
    DeployRunOperator,
    parameters={"License": LICENSE, "Size": NOT_APPLIED},
    **DECLARED,
)
missing_file = one_task_dag(
    "it_sp_missing_file",
    RunWorkflowOperator,
    parameters={"License": LICENSE, "Size": 3},
    files=["/nonexistent/pseven-it/input.txt"],
    **DECLARED,
)
undeclared = one_task_dag(
    "it_sp_undeclared", DeployRunOperator, parameters={"License": "{{ var.value.other_license }}", "Size": 3}
)

with DAG("it_sp_mapped", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as mapped:
    # Airflow renders a mapped task's fields on the task it unmaps (not through that task's
    # render_template_fields): the Secret is masked as each rendered field is assigned.
    RunWorkflowOperator.partial(
        task_id="task", workflow=WORKFLOW, deferrable=False, poll_interval=0.2, retries=0, **DECLARED
    ).expand(parameters=[{"License": LICENSE, "Size": 1}, {"License": LICENSE, "Size": 2}])
