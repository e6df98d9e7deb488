"""Run the example DAGs with ``airflow dags test`` against the emulator, then sweep for secrets.

    <venv>/bin/python scripts/compat_check.py [--dags-folder DIR] [--workdir DIR] [DAG_ID ...]

What ``make test-compat`` and ``make dist-check`` run in each virtual environment, with that
environment's Airflow and provider (it imports nothing from this repository, so it also checks an
installed wheel):

1. starts ``pseven-emulator`` (the console script next to this Python) on a free port, with a
   recognisable token;
2. points a fresh AIRFLOW_HOME (SQLite) at the example DAGs, with Airflow's default INFO logging
   (``--log-level``) and a recognisable value for the ToyWorkflow's Secret parameter;
3. runs ``airflow db migrate``, then ``airflow dags test <dag>`` for each DAG (default: all four
   example DAGs) and reads each DAG run's state from the metadata database;
4. searches every ``dags test`` output, every task log file, every file the DAGs wrote and every
   row of every table of the metadata database for the token and the Secret.

Prints one line per DAG and one summary line; exits non-zero if a DAG run did not succeed or a
value was found. The emulator's own output (it prints its token) is kept apart and not searched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXAMPLE_DAGS = (
    "example_pseven_run",
    "example_pseven_sweep",
    "example_pseven_appshub",
    "example_pseven_messaging",
)
TOKEN = "tok-COMPAT-SWEEP-5d1e7a90"
SECRET = "secret-COMPAT-SWEEP-c3b8e214"
DAG_TIMEOUT = 1200.0  # the sweep example took 75 s on 3.3.2 alone, over 600 s on 3.1 under load


def say(text: str) -> None:
    print(text, flush=True)


def run_logged(cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path, timeout: float) -> int:
    """Run ``cmd`` in its own process group, output to ``log_path``; kill the group on overrun."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return proc.wait(timeout)
        except BaseException:
            stop_group(proc)
            raise


def stop_group(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(5)
            return
        except subprocess.TimeoutExpired:
            continue


class Emulator:
    """``pseven-emulator --port 0`` in a subprocess; its output goes to ``log_path`` only."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.connection = ""

    def __enter__(self) -> Emulator:
        cmd = [str(BIN / "pseven-emulator"), "--port", "0", "--time-scale", "0.3", "--token", TOKEN]
        with self.log_path.open("wb") as log:  # a file, never a pipe nobody drains
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            lines = self.log_path.read_text(errors="replace").splitlines()
            if any(line.startswith("Ready") for line in lines):
                self.connection = next(
                    (
                        line.split(":", 1)[1].strip()
                        for line in lines
                        if line.startswith("Airflow connection:")
                    ),
                    "",
                )
                break
            time.sleep(0.1)
        if not self.connection:
            stop_group(self.proc)
            raise SystemExit("pseven-emulator did not start:\n" + self.log_path.read_text(errors="replace"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            if self.proc.returncode not in (0, -signal.SIGTERM, None):
                say(f"  pseven-emulator exited {self.proc.returncode}: see {self.log_path}")


def db_text(db: Path) -> str:
    """Every row of every table of the SQLite metadata database, as text."""
    parts = []
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # table names from sqlite_master
                for value in row:
                    if isinstance(value, bytes):
                        parts.append(value.decode("utf-8", errors="replace"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts)


def dag_run_states(db: Path, dag_id: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT state FROM dag_run WHERE dag_id = ?", (dag_id,))]


def task_states(db: Path, dag_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        for (state,) in conn.execute("SELECT state FROM task_instance WHERE dag_id = ?", (dag_id,)):
            counts[str(state)] = counts.get(str(state), 0) + 1
    return counts


def files_text(root: Path, skip_suffixes: tuple[str, ...] = (".png", ".db")) -> str:
    return "\n".join(
        p.read_text(errors="replace")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix not in skip_suffixes
    )


def provider_location() -> dict[str, str]:
    """Where this Python imports the provider from, and whether it is an installed wheel."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("airflow_provider_pseven")
    path = Path(spec.origin).parent if spec and spec.origin else Path("?")
    dist = importlib.metadata.distribution("airflow-provider-pseven")
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    editable = bool(direct_url.get("dir_info", {}).get("editable"))
    inside_repo = REPO in path.resolve().parents
    kind = "editable or source tree" if editable or inside_repo else "installed"
    return {"version": dist.version, "path": str(path), "kind": kind}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dags", nargs="*", default=list(EXAMPLE_DAGS), help="DAG ids (default: all examples)")
    parser.add_argument("--dags-folder", type=Path, default=REPO / "example_dags")
    parser.add_argument("--workdir", type=Path, default=None, help="kept afterwards (default: a temp dir)")
    parser.add_argument(
        "--log-level",
        default="INFO",
        help="Airflow's logging level (default INFO, Airflow's own default; see docs/compatibility.md "
        "for what airflow dags test prints at DEBUG)",
    )
    parser.add_argument(
        "--require-wheel",
        action="store_true",
        help="fail unless the provider is an installed (not editable) distribution outside this repository",
    )
    args = parser.parse_args(argv)

    import airflow  # this environment's

    where = provider_location()
    say(f"airflow-provider-pseven {where['version']} from {where['path']} ({where['kind']})")
    if args.require_wheel and where["kind"] != "installed":
        say(
            "The provider is not an installed wheel here: run from outside the repository, in a venv with the wheel"
        )
        return 1

    started = time.monotonic()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pseven-compat-"))
    shutil.rmtree(workdir, ignore_errors=True)
    home, output, logs = workdir / "airflow-home", workdir / "output", workdir / "logs"
    for folder in (home, output, logs):
        folder.mkdir(parents=True)
    say(f"Airflow {airflow.__version__}, Python {sys.version.split()[0]}, work dir {workdir}")

    failures: list[str] = []
    with Emulator(workdir / "emulator.log") as emulator:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(args.dags_folder.resolve()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": args.log_level,
            "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection,
            "AIRFLOW_VAR_PSEVEN_MY_SECRET": SECRET,
            "PSEVEN_DEMO_OUTPUT": str(output),
            "PSEVEN_POLL_INTERVAL": "0.2",
        }
        airflow_bin = str(BIN / "airflow")
        t0 = time.monotonic()
        if run_logged([airflow_bin, "db", "migrate"], env, logs / "db-migrate.log", workdir, 600) != 0:
            say(f"airflow db migrate failed: see {logs / 'db-migrate.log'}")
            return 1
        say(f"  airflow db migrate: {time.monotonic() - t0:.0f} s")
        db = home / "airflow.db"
        for dag_id in args.dags:
            t0 = time.monotonic()
            log = logs / f"{dag_id}.log"
            try:
                code = run_logged([airflow_bin, "dags", "test", dag_id], env, log, workdir, DAG_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = -1  # stopped after DAG_TIMEOUT; reported as a failure, the sweep still runs
                say(f"  {dag_id}: stopped after {DAG_TIMEOUT:.0f} s")
            states = dag_run_states(db, dag_id)
            ok = code == 0 and states == ["success"]
            say(
                f"  {dag_id}: {'success' if ok else 'FAILED'} in {time.monotonic() - t0:.0f} s "
                f"(exit {code}, dag run {states}, tasks {task_states(db, dag_id)})"
            )
            if not ok:
                failures.append(f"{dag_id} (log: {log})")

    haystacks = {
        "airflow dags test output": files_text(logs),
        "task log files": files_text(home / "logs") if (home / "logs").exists() else "",
        "files the DAGs wrote": files_text(output),
        "metadata database (every row of every table)": db_text(home / "airflow.db"),
    }
    leaks = [
        f"{name} found in {where}"
        for where, text in haystacks.items()
        for name, value in (("the token", TOKEN), ("the Secret", SECRET))
        if value in text
    ]
    sizes = ", ".join(f"{where}: {len(text):,} chars" for where, text in haystacks.items())
    say(f"  secret sweep: {'CLEAN' if not leaks else 'LEAKS: ' + '; '.join(leaks)} ({sizes})")
    result = {
        "airflow": airflow.__version__,
        "dags": args.dags,
        "failed": failures,
        "leaks": leaks,
        "seconds": round(time.monotonic() - started),
    }
    say("compat-check: " + json.dumps(result))
    return 1 if failures or leaks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
