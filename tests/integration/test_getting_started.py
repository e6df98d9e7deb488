"""docs/getting-started.md is true: its DAG runs, and its two failures fail as the page shows.

The code is taken from the page itself, against the emulator as ``pseven-emulator`` starts it (the
guide's variants), so an edit of the page that breaks a step fails here. Two changes only: the
poll interval is shortened (0.2 s instead of the default 5 s), to keep the test fast, and the DAG is
bound to a name (``as dag``), which is how the harness finds it in the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DAGS_FOLDER
from tests.integration.airflow_harness import run_dag, task_states, xcom

PAGE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"


def page_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def first_dag() -> str:
    (dag,) = [block for block in page_blocks() if 'with DAG("pseven_first"' in block]
    return dag


def fast(code: str) -> str:
    assert "RunWorkflowOperator(\n" in code and "catchup=False):\n" in code
    code = code.replace("catchup=False):\n", "catchup=False) as dag:\n")
    return code.replace("RunWorkflowOperator(\n", "RunWorkflowOperator(\n        poll_interval=0.2,\n")


def run_page_dag(name: str, code: str) -> object:
    (DAGS_FOLDER / f"{name}.py").write_text(fast(code), encoding="utf-8")
    return run_dag(f"{name}.py")


pytestmark = [pytest.mark.integration, pytest.mark.pseven_emulator(variants="guide")]


def test_the_first_dag_runs_and_deletes_its_run(pseven_connection) -> None:
    dag_run = run_page_dag("gs_first", first_dag())
    assert task_states(dag_run) == {"toy": "success"}
    results = xcom(dag_run, "toy")
    assert results["MyFirstParameter"] == "hello from Airflow"
    assert results["MyResult"] == 99
    assert not pseven_connection.state.runs, "delete_after=True leaves no run"


def test_a_misspelled_parameter_names_the_valid_ones_and_leaves_no_run(pseven_connection, capfd) -> None:
    code = first_dag().replace('"MyFirstParameter"', '"MyFirstParam"').replace('"pseven_first"', '"gs_typo"')
    dag_run = run_page_dag("gs_typo", code)
    logged = capfd.readouterr()
    assert task_states(dag_run) == {"toy": "failed"}
    assert "Unknown parameter 'MyFirstParam'. Valid values: 'MyFirstParameter'" in logged.out + logged.err
    assert not pseven_connection.state.runs, "the run the task deployed was deleted"


def test_a_failed_run_ends_the_exception_with_the_run_log(pseven_connection, capfd) -> None:
    (operator,) = [block for block in page_blocks() if "Failing.p7wf" in block]
    code = (
        "import pendulum\nfrom airflow.sdk import DAG\n\n"
        "from airflow_provider_pseven.operators import RunWorkflowOperator\n\n"
        'with DAG("gs_failing", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False):\n'
        + "".join(f"    {line}\n" for line in operator.splitlines())
    )
    dag_run = run_page_dag("gs_failing", code)
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert task_states(dag_run) == {"failing": "failed"}
    assert "ended FAILED. The run log ends with:" in logged
    assert "RuntimeError: the mesh did not converge" in logged
    assert len(pseven_connection.state.runs) == 1, "the failed run is kept for a look in Studio"
