"""The example DAGs run end to end under ``dag.test()`` against the emulator."""

from __future__ import annotations

import json

import pytest

from tests.integration.airflow_harness import run_dag, task_states, xcom

SECRET = "example-secret-value"


def rendered_fields(dag_run, task_id):
    """What the UI shows as the task's rendered template fields."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rtif
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(Rtif).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id).one()
        )
        return row.rendered_fields


def run_folder(out, dag_id):
    """The one DAG run's folder the example wrote under ``<base>/<dag_id>/``."""
    (folder,) = (out / dag_id).iterdir()
    assert folder.name.startswith("manual__"), folder.name
    return folder


@pytest.fixture
def demo_env(pseven_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("PSEVEN_DEMO_OUTPUT", str(tmp_path))
    monkeypatch.setenv("PSEVEN_POLL_INTERVAL", "0.2")
    monkeypatch.setenv("AIRFLOW_VAR_PSEVEN_MY_SECRET", SECRET)
    return pseven_connection, tmp_path


@pytest.mark.integration
def test_example_pseven_run(demo_env, capfd):
    server, out = demo_env
    dag_run = run_dag("example_pseven_run.py")
    logged = capfd.readouterr()

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    results = xcom(dag_run, "results")
    assert results["MyFirstParameter"] == "set from Airflow"
    assert results["SecretLength"] == len(SECRET)
    assert results["InputLineCount"] == 4
    assert xcom(dag_run, "set_parameters")["MySecret"] == ""
    folder = run_folder(out, "example_pseven_run")
    assert (folder / "input.csv").read_text().count("\n") == 4, "the uploaded input came from there"
    assert json.loads((folder / "results.json").read_text()) == results
    assert "MySecret is set" in (folder / "run.log").read_text()
    assert SECRET not in (folder / "summary.json").read_text()
    assert json.loads((folder / "summary.json").read_text())["results"] == results
    assert not server.state.runs, "every run was deleted"
    # The Secret's value reached the run but never a log line or a rendered template field.
    assert "Set parameters of run" in logged.out + logged.err
    assert SECRET not in logged.out + logged.err
    assert SECRET not in json.dumps(rendered_fields(dag_run, "set_parameters"), default=str)


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_example_pseven_sweep(demo_env):
    """Under the strictest variants only (a minute of ``dag.test()`` per variant set): the sweep's
    twenty mapped runs make the very calls ``example_pseven_run`` makes, which runs under every
    set; what this adds is mapping, and the production cluster runs this DAG again."""
    server, out = demo_env
    dag_run = run_dag("example_pseven_sweep.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    results = [xcom(dag_run, "run", map_index=i) for i in range(20)]
    deployed = [xcom(dag_run, "deploy", map_index=i) for i in range(20)]
    assert len({d["run_id"] for d in deployed}) == 20
    masses = {
        d["run_id"]: r["BestMass"]
        for d, r in zip(deployed, results, strict=True)
        if r["BestMass"] is not None
    }
    best = xcom(dag_run, "pick_best")
    assert best["BestMass"] == min(masses.values())
    assert masses[best["run_id"]] == best["BestMass"]
    folder = run_folder(out, "example_pseven_sweep")
    plot = (folder / "best-diagrams.png").read_bytes()
    assert plot.startswith(b"\x89PNG\r\n\x1a\n") and len(plot) > 100
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["best"]["run_id"] == best["run_id"] and len(summary["designs"]) == 20
    assert server.state.deploy_count() == 20
    assert not server.state.runs, "every run was deleted"


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest", time_scale=0.2)  # test_decorator.py: both sets
def test_example_pseven_decorator(demo_env, monkeypatch, tmp_path):
    """The @task.pseven sweep, with its base from the Airflow Variable (over the environment's)."""
    server, _ = demo_env
    base = tmp_path / "from-variable"
    monkeypatch.setenv("AIRFLOW_VAR_PSEVEN_EXAMPLES_BASE", base.as_uri())
    dag_run = run_dag("example_pseven_decorator.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    cases = xcom(dag_run, "prepare_cases")
    results = [xcom(dag_run, "disk_case", map_index=i) for i in range(len(cases))]
    assert len(cases) == 6 and all("BestMass" in r for r in results)
    folder = run_folder(base, "example_pseven_decorator")
    assert sorted(p.name for p in (folder / "designs").iterdir()) == [f"{i}.csv" for i in range(6)]
    summary = json.loads((folder / "summary.json").read_text())
    assert [row["sampled"] for row in summary["cases"]] == [50] * 6
    feasible = [r["BestMass"] for r in results if r["BestMass"] is not None]
    assert summary["best"]["BestMass"] == min(feasible) == xcom(dag_run, "report")["BestMass"]
    assert server.state.deploy_count() == 6 and server.state.start_count() == 6
    assert not server.state.runs, "delete_after removed every run"


@pytest.mark.integration
def test_example_pseven_appshub(demo_env, monkeypatch):
    server, out = demo_env
    deployed_personal = []
    real_deploy = server.state.deploy

    def spy(*args, **kwargs):
        run = real_deploy(*args, **kwargs)
        deployed_personal.append((run.kind, run.personal))
        return run

    monkeypatch.setattr(server.state, "deploy", spy)
    dag_run = run_dag("example_pseven_appshub.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    app = xcom(dag_run, "publish")
    assert app["state"] == "READY" and app["version"] == 1
    assert app["app_id"] in {a.id for a in server.state.apps.values()}
    assert xcom(dag_run, "deploy")["app_id"].split("@")[0] == app["app_id"]
    assert deployed_personal == [("app", True)]
    results = xcom(dag_run, "start")
    assert results["MyFirstParameter"] == "hello from AppsHub" and results["MyResult"] == 99
    summary = json.loads((run_folder(out, "example_pseven_appshub") / "summary.json").read_text())
    assert summary["results"] == results
    assert not server.state.runs, "every run was deleted"


@pytest.mark.integration
def test_example_pseven_messaging(demo_env):
    server, out = demo_env
    chat_runs_before = server.state.deploy_count()
    dag_run = run_dag("example_pseven_messaging.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    assert xcom(dag_run, "wait_ready") == "ready"
    assert xcom(dag_run, "wait_reply") == "HELLO"
    assert xcom(dag_run, "wait_reply_again") == "GOODBYE"
    results = xcom(dag_run, "results")
    assert results == {"Replies": ["HELLO", "GOODBYE"], "Rounds": 2}
    summary = json.loads((run_folder(out, "example_pseven_messaging") / "summary.json").read_text())
    assert summary["received"] == ["ready", "HELLO", "GOODBYE"]
    assert server.state.deploy_count() == chat_runs_before + 1
    assert not server.state.runs, "every run was deleted"


@pytest.mark.parametrize(
    "file_name",
    [
        "example_pseven_run.py",
        "example_pseven_sweep.py",
        "example_pseven_sweep_table.py",
        "example_pseven_appshub.py",
        "example_pseven_messaging.py",
        "example_pseven_decorator.py",
    ],
)
def test_example_dag_parses_quickly_offline(file_name, monkeypatch):
    """No connection and no network at parse time; parsing takes well under a second."""
    import time

    from tests.integration.airflow_harness import load_dag

    monkeypatch.delenv("AIRFLOW_CONN_PSEVEN_DEFAULT", raising=False)
    load_dag(file_name)  # the first load pays for importing Airflow and the provider
    started = time.perf_counter()
    dag = load_dag(file_name)
    assert time.perf_counter() - started < 0.5
    assert dag.dag_id == file_name.removesuffix(".py")
    assert "example" in dag.tags


@pytest.mark.integration
@pytest.mark.pseven_emulator(variants="strictest")
def test_example_pseven_sweep_table(demo_env, monkeypatch):
    server, out = demo_env
    monkeypatch.setenv("PSEVEN_SWEEP_POINTS", "8")
    dag_run = run_dag("example_pseven_sweep_table.py")

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    summary = xcom(dag_run, "sweep")
    assert summary["points"] == 8 and summary["finished"] + summary["failed"] == 8
    report = xcom(dag_run, "report")
    assert report["plotted"] >= 1 and report["best"]["results"]["BestMass"] is not None
    folder = next((out / "example_pseven_sweep_table").iterdir())
    assert (folder / "report.svg").read_text().startswith("<svg")
    assert (folder / "doe.csv").exists() and (folder / "results" / "results.csv").exists()
    assert server.state.deploy_count() == 8
    assert server.state.event_count("delete") == summary["finished"], "finished runs are deleted once read"
