"""A real ``airflow api-server`` for the browser tests: a fresh SQLite database in a temporary
AIRFLOW_HOME, multi-team mode with the simple auth manager (Airflow 3.2+), the test DAG run once
by ``airflow dags test`` into the same database, and the emulator as ``pseven_default``.

Users (passwords in the passwords file): ``admin`` (admin), ``eng`` (viewer in team ``team_a``, which
owns the DAG's bundle), ``ops`` (op in team ``team_a``), ``outsider`` (op in team ``team_b``: no access).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAGS = Path(__file__).resolve().parent / "dags"
USERS = {"admin": "admin", "eng": "viewer:team_a", "ops": "op:team_a", "outsider": "op:team_b"}
DAG_ID = "pseven_ui_tab"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AirflowServer:
    def __init__(self, home: Path, emulator: Any) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.passwords = {name: secrets.token_urlsafe(9) for name in USERS}
        (home / "passwords.json").write_text(json.dumps(self.passwords))
        empty = home / "team_b_dags"
        empty.mkdir()
        bundles = [
            {
                "name": "team-a",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(DAGS), "refresh_interval": 0},
                "team_name": "team_a",
            },
            {
                "name": "team-b",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(empty), "refresh_interval": 0},
                "team_name": "team_b",
            },
        ]
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__MULTI_TEAM": "True",
            # provider-info plugins load only so, where the airflow.plugins entry point is not installed
            "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": "False",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(16),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json(),
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        }
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home / "api-server.log"
        #: Seconds each airflow command took (reported by the test module's durations).
        self.timings: dict[str, float] = {}

    def airflow(self, *args: str, timeout: float = 300, ok: str = "") -> subprocess.CompletedProcess[str]:
        """Run an airflow command; a failure is one that exits non-zero without printing ``ok``."""
        started = time.monotonic()
        done = subprocess.run(
            [str(BIN / "airflow"), *args],
            check=False,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings[" ".join(args[:2])] = (
            self.timings.get(" ".join(args[:2]), 0) + time.monotonic() - started
        )
        if done.returncode and not (ok and ok in done.stdout + done.stderr):
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def prepare(self) -> None:
        """Migrate the database, create the teams, serialize the DAG (its bundle belongs to team_a),
        then start the API server while ``airflow dags test`` runs the DAG once."""
        self.airflow("db", "migrate")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:  # two process start-ups at once
            list(pool.map(lambda team: self.airflow("teams", "create", team), ("team_a", "team_b")))
        self.airflow("dags", "reserialize")
        self.launch()
        # The failing task fails the DAG run (exit status 1): `dags test` still runs the others.
        self.airflow("dags", "test", DAG_ID, timeout=400, ok="DagRun Finished")

    def launch(self) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, timeout: float = 120) -> AirflowServer:
        """Wait until the launched API server answers."""
        if self.process is None:
            self.launch()
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("api-server exited:\n" + self.log_path.read_text()[-3000:])
            try:
                if requests.get(self.url + "/api/v2/monitor/health", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError("api-server did not come up:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)

    def token(self, user: str) -> str:
        answer = requests.post(
            self.url + "/auth/token", json={"username": user, "password": self.passwords[user]}, timeout=10
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def dag_run_id(self) -> str:
        runs = requests.get(
            self.url + f"/api/v2/dags/{DAG_ID}/dagRuns",
            headers={"Authorization": "Bearer " + self.token("admin")},
            timeout=10,
        ).json()["dag_runs"]
        return str(runs[0]["dag_run_id"])
