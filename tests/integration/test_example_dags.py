"""The example DAGs run end to end under ``dag.test()`` against the emulator."""

from __future__ import annotations

import json

import pytest

from tests.integration.airflow_harness import run_dag, task_states, xcom

SECRET = "example-secret-value"


@pytest.fixture
def demo_env(pseven_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("PSEVEN_DEMO_OUTPUT", str(tmp_path))
    monkeypatch.setenv("PSEVEN_POLL_INTERVAL", "0.2")
    monkeypatch.setenv("AIRFLOW_VAR_PSEVEN_MY_SECRET", SECRET)
    return pseven_connection, tmp_path


@pytest.mark.integration
def test_example_pseven_run(demo_env):
    server, out = demo_env
    dag_run = run_dag("example_pseven_run.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    results = xcom(dag_run, "results")
    assert results["MyFirstParameter"] == "set from Airflow"
    assert results["SecretLength"] == len(SECRET)
    assert results["InputLineCount"] == 4
    assert xcom(dag_run, "set_parameters")["MySecret"] == ""
    folder = out / "example_pseven_run"
    assert json.loads((folder / "results.json").read_text()) == results
    assert "MySecret is set" in (folder / "run.log").read_text()
    assert SECRET not in (folder / "summary.json").read_text()
    assert json.loads((folder / "summary.json").read_text())["results"] == results
    assert server.state.runs == {} or all(r.state == "DELETED" for r in server.state.runs.values())


@pytest.mark.integration
def test_example_pseven_sweep(demo_env):
    server, out = demo_env
    dag_run = run_dag("example_pseven_sweep.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    results = [xcom(dag_run, "run", map_index=i) for i in range(20)]
    deployed = [xcom(dag_run, "deploy", map_index=i) for i in range(20)]
    assert len({d["run_id"] for d in deployed}) == 20
    masses = {d["run_id"]: r["BestMass"] for d, r in zip(deployed, results) if r["BestMass"] is not None}
    best = xcom(dag_run, "pick_best")
    assert best["BestMass"] == min(masses.values())
    assert masses[best["run_id"]] == best["BestMass"]
    plot = (out / "example_pseven_sweep" / "best-diagrams.png").read_bytes()
    assert plot.startswith(b"\x89PNG\r\n\x1a\n") and len(plot) > 100
    summary = json.loads((out / "example_pseven_sweep" / "summary.json").read_text())
    assert summary["best"]["run_id"] == best["run_id"] and len(summary["designs"]) == 20
    assert server.state.deploy_count() == 20
    assert not server.state.runs or all(r.state == "DELETED" for r in server.state.runs.values())
