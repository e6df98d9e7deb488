"""``make demo``: run the example DAGs with ``airflow dags test`` against the pSeven emulator.

    .venv/bin/python scripts/demo.py                     # example_pseven_run, _decorator, _sweep, _sweep_table, _events
    .venv/bin/python scripts/demo.py example_pseven_messaging example_pseven_appshub

What it does:

1. starts the emulator (``pseven-emulator`` in a subprocess, on a free port), unless the environment
   variable ``PSEVEN_DEMO_CONN`` holds an Airflow connection (JSON or URI) to a real pSeven
   Enterprise, which is then used instead;
2. points Airflow at ``.airflow-home/`` (SQLite, created with ``airflow db migrate`` on the first
   run only) and at ``example_dags/``;
3. runs each DAG with ``airflow dags test <dag_id>``, its log going to ``demo-output/logs/<dag_id>.log``;
4. prints what happened: task states, results, the best design of the sweeps, the files written
   (the DAGs exchange files under ``demo-output/<dag_id>/<DAG run id>/``, as ``file://`` URLs: the
   base URL that a deployment sets to object storage, see docs/patterns.md).

It exits non-zero if a DAG run failed (naming its log), and stops everything it started.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = REPO / ".airflow-home"
OUTPUT = REPO / "demo-output"
LOGS = OUTPUT / "logs"
AIRFLOW = Path(sys.executable).parent / "airflow"
DEFAULT_DAGS = (
    "example_pseven_run",
    "example_pseven_decorator",
    "example_pseven_sweep",
    "example_pseven_sweep_table",
    "example_pseven_events",
)
ALL_DAGS = (
    "example_pseven_run",
    "example_pseven_decorator",
    "example_pseven_sweep",
    "example_pseven_sweep_table",
    "example_pseven_appshub",
    "example_pseven_messaging",
    "example_pseven_events",
)
# Emulator delays x0.3: a ToyWorkflow run takes about 0.3 s, a state change is still visible.
TIME_SCALE = "0.3"
DAG_TIMEOUT = 600.0


def say(text: str = "") -> None:
    print(text, flush=True)


def airflow_env(connection: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_PSEVEN_DEFAULT": connection,
            "PSEVEN_DEMO_OUTPUT": str(OUTPUT),
            "PSEVEN_POLL_INTERVAL": os.environ.get("PSEVEN_POLL_INTERVAL", "0.2"),
            # example_pseven_sweep_table at a small size: 12 points of its Latin hypercube.
            "PSEVEN_SWEEP_POINTS": os.environ.get("PSEVEN_SWEEP_POINTS", "12"),
        }
    )
    # The value of ToyWorkflow's Secret parameter; on a real server, export your own.
    env.setdefault("AIRFLOW_VAR_PSEVEN_MY_SECRET", "demo-secret-not-a-real-one")
    return env


def run_logged(cmd: list[str], env: dict[str, str], log_path: Path, timeout: float) -> int:
    """Run ``cmd`` in its own process group, output to ``log_path``; kill the whole group if it
    overruns or if this script is interrupted."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return proc.wait(timeout)
        except BaseException:
            kill_group(proc)
            raise


def kill_group(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def migrate_if_needed(env: dict[str, str]) -> None:
    """``airflow db migrate`` on the first run (or after an Airflow upgrade) only."""
    stamp = AIRFLOW_HOME / f".demo-db-migrated-{importlib.metadata.version('apache-airflow')}"
    if stamp.exists() and (AIRFLOW_HOME / "airflow.db").exists():
        return
    AIRFLOW_HOME.mkdir(exist_ok=True)
    say(f"Creating the Airflow metadata database in {AIRFLOW_HOME.relative_to(REPO)}/ (first run only)...")
    started = time.monotonic()
    log = LOGS / "airflow-db-migrate.log"
    if run_logged([str(AIRFLOW), "db", "migrate"], env, log, 600) != 0:
        raise SystemExit(f"airflow db migrate failed; see {log}")
    stamp.touch()
    say(f"  done in {time.monotonic() - started:.0f} s")


class Emulator:
    """The emulator CLI in a subprocess; its output is drained into demo-output/logs/emulator.log."""

    def __init__(self) -> None:
        from airflow_provider_pseven.emulator.server import EmulatorProcess

        self.process = EmulatorProcess("--time-scale", TIME_SCALE, port=0)
        self.connection = ""

    def __enter__(self) -> Emulator:
        self.process.start()
        lines = self.process.output
        self.connection = next(
            (line.split(":", 1)[1].strip() for line in lines if line.startswith("Airflow connection:")),
            json.dumps({"conn_type": "pseven", "host": self.process.url, "password": self.process.token}),
        )
        log = (LOGS / "emulator.log").open("w")
        log.writelines(lines)
        log.flush()
        proc = self.process.proc
        assert proc is not None and proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=lambda: [log.write(line) for line in stream], daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop(timeout=5)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def latest_summary(dag_id: str) -> Any:
    """The summary.json of the DAG's latest DAG run (each writes under its own folder)."""
    found = sorted((OUTPUT / dag_id).glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return read_json(found[-1]) if found else None


ERROR_LINE = re.compile(r"^[\w.]+(Error|Exception): ")


def log_text(log_path: Path) -> list[str]:
    return log_path.read_text(errors="replace").splitlines() if log_path.exists() else []


def task_states(log_path: Path) -> str:
    """``12 success, 1 failed``: the last state of each task instance, from the log."""
    last: dict[str, str] = {}
    for line in log_text(log_path):
        if "Task instance state updated" in line and "new_state=" in line:
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            last[fields.get("ti_id", "")] = fields["new_state"]
    counts: dict[str, int] = {}
    for state in last.values():
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"


def summarize(dag_id: str, ok: bool, seconds: float, log_path: Path) -> None:
    status = "succeeded" if ok else "FAILED"
    say(f"\n== {dag_id}: {status} in {seconds:.1f} s (log: {log_path.relative_to(REPO)})")
    say(f"   task instances: {task_states(log_path)}")
    if not ok:
        errors = [line for line in log_text(log_path) if ERROR_LINE.match(line)]
        say(f"   {errors[-1][:300] if errors else 'no error line found in the log'}")
    summary = latest_summary(dag_id)
    if not summary:
        if ok:
            say("   (no summary.json written)")
        return
    if dag_id == "example_pseven_sweep_table":
        best = summary["best"] or {}
        say(
            f"   {summary['points']} points swept in one task, {summary['plotted']} plotted: {summary['plot']}"
        )
        if best:
            say(
                f"   best: BestMass {best['results']['BestMass']:.3f} kg at {json.dumps(best['parameters'], sort_keys=True)}"
            )
    elif dag_id == "example_pseven_sweep":
        designs = summary["designs"]
        feasible = [d for d in designs if d["BestMass"] is not None]
        say(f"   {len(designs)} runs, {len(feasible)} found a design within the stress limit")
        for design in sorted(feasible, key=lambda d: d["BestMass"])[:3]:
            p = design["parameters"]
            say(
                f"   mass {design['BestMass']:8.3f} kg  OuterRadius {p['OuterRadius']:.2f} m  "
                f"Speed {p['Speed']:6.0f} rad/s  run {design['run_id'][:8]}"
            )
        best = summary["best"]
        say(f"   best design: {json.dumps(best['BestDesign'], sort_keys=True)}")
    elif dag_id == "example_pseven_decorator":
        cases = summary["cases"]
        say(f"   {len(cases)} cases, one @task.pseven run each:")
        for case in cases:
            mass = (
                "no design within the stress limit"
                if case["BestMass"] is None
                else f"{case['BestMass']:.3f} kg"
            )
            say(f"   {case['case']:<16} Speed {case['Speed']:7.1f} rad/s  best mass {mass}")
        say(f"   best case: {summary['best']['case']}")
    else:
        if summary.get("run_id"):
            say(f"   pSeven run {summary['run_id']}: {summary.get('url', '')}")
        if summary.get("app"):
            app = summary["app"]
            say(f"   published app {app['app_id']} version {app['version']} ({app['state']})")
        if summary.get("received"):
            say(f"   messages received: {summary['received']}")
        for name, value in (summary.get("results") or {}).items():
            say(f"   result {name} = {value!r}")


def list_outputs() -> None:
    say(f"\nFiles written under {OUTPUT.relative_to(REPO)}/:")
    for path in sorted(p for p in OUTPUT.rglob("*") if p.is_file()):
        say(f"   {path.relative_to(OUTPUT)!s:<80} {path.stat().st_size:>9,} bytes")


def main(argv: list[str]) -> int:
    dags = argv or list(DEFAULT_DAGS)
    unknown = [d for d in dags if d not in ALL_DAGS]
    if unknown:
        say(f"Unknown DAG(s) {unknown}; choose from {list(ALL_DAGS)}")
        return 2
    started = time.monotonic()
    shutil.rmtree(OUTPUT, ignore_errors=True)
    LOGS.mkdir(parents=True)
    real = os.environ.get("PSEVEN_DEMO_CONN", "").strip()
    failed: list[tuple[str, Path]] = []
    emulator = None if real else Emulator()
    try:
        if emulator is not None:
            emulator.__enter__()
            say(f"pSeven emulator at {emulator.process.url} (time scale {TIME_SCALE})")
            connection = emulator.connection
        else:
            say("Using the pSeven Enterprise connection in PSEVEN_DEMO_CONN")
            connection = real
        env = airflow_env(connection)
        migrate_if_needed(env)
        for dag_id in dags:
            if dag_id == "example_pseven_events":  # a watcher: see scripts/demo_events.py
                if emulator is None:
                    say("Skipping example_pseven_events: it starts runs on the emulator as an engineer would")
                    continue
                say("Running example_pseven_events: a RunEventTrigger watcher, then one DAG run per event...")
                import demo_events

                api_url = f"{emulator.process.url}/pseven/.rest/v2/"
                failed += demo_events.run(
                    env, api_url, emulator.process.token, LOGS, AIRFLOW, run_logged, say
                )
                continue
            say(f"Running {dag_id} (airflow dags test)...")
            log_path = LOGS / f"{dag_id}.log"
            dag_started = time.monotonic()
            code = run_logged([str(AIRFLOW), "dags", "test", dag_id], env, log_path, DAG_TIMEOUT)
            summarize(dag_id, code == 0, time.monotonic() - dag_started, log_path)
            if code != 0:
                failed.append((dag_id, log_path))
        list_outputs()
    except subprocess.TimeoutExpired as error:
        say(f"\nTimed out: {' '.join(map(str, error.cmd))}")
        return 1
    finally:
        if emulator is not None:
            emulator.__exit__(None, None, None)
    say(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
    for dag_id, log_path in failed:
        say(f"{dag_id} FAILED: see {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
