"""``@task.pseven`` end to end under ``dag.test()`` against the emulator: a mapped sweep, and the
bad-input rules (nothing deployed, or nothing left behind)."""

from __future__ import annotations

import pytest

from airflow_provider_pseven.compat import HAS_RETRY_POLICY
from tests.integration.airflow_harness import run_dag, task_states, xcom

SECRET = "it-decorator-secret"


@pytest.fixture
def decorator_env(pseven_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("PSEVEN_IT_OUTPUT", str(tmp_path))
    monkeypatch.setenv("PSEVEN_IT_SECRET", SECRET)
    return pseven_connection


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")  # the hardest answers; the client meets all sets elsewhere
def test_mapped_sweep_runs_one_workflow_per_point(decorator_env, capfd):
    server = decorator_env
    dag_run = run_dag("it_decorator.py", "it_decorator_sweep")
    logged = capfd.readouterr()

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    results = [xcom(dag_run, "point", map_index=i) for i in range(3)]
    assert [r["MySecondParameter"] for r in results] == [3.0, 5.0, 7.0]
    assert [r["MyFirstParameter"] for r in results] == ["point 0", "point 1", "point 2"]
    assert all(r["SecretLength"] == len(SECRET) for r in results)
    assert all(r["InputLineCount"] == 3 for r in results), "files= (templated) was uploaded"
    assert xcom(dag_run, "point", key="MyResult", map_index=1) == 99, "each result is its own XCom too"
    runs = [xcom(dag_run, "point", key="pseven_run", map_index=i) for i in range(3)]
    assert len({r["run_id"] for r in runs}) == 3
    assert xcom(dag_run, "report") == {"points": 3, "total": 15.0}
    assert server.state.deploy_count() == 3 and server.state.start_count() == 3
    assert not server.state.runs, "delete_after removed every run"
    assert SECRET not in logged.out + logged.err


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="guide")
@pytest.mark.parametrize(
    ("dag_id", "task_id", "told", "deployed"),
    [
        # A wrong shape fails before anything is deployed, showing the expected shape.
        ("it_decorator_bad_shape", "not_a_dict", "as a dict {parameter name or id: value}", 0),
        # An unknown name fails as for the operator (without a retry on Airflow 3.3+, whose retry
        # policy knows it for a mistake); the run is deleted.
        ("it_decorator_unknown", "unknown", "NoSuchParameter", 1 if HAS_RETRY_POLICY else 2),
    ],
)
def test_bad_input_fails_and_leaves_no_run(decorator_env, capfd, dag_id, task_id, told, deployed):
    server = decorator_env
    dag_run = run_dag("it_decorator.py", dag_id)
    logged = capfd.readouterr()
    assert task_states(dag_run) == {task_id: "failed"}
    assert told in logged.out + logged.err
    assert server.state.deploy_count() == deployed
    assert not server.state.runs, "no run is left behind"
