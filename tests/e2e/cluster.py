"""Airflow as real, separate processes: api-server, scheduler (LocalExecutor), dag-processor, triggerer.

Everything listens on 127.0.0.1 only, runs from a private AIRFLOW_HOME, and is stopped (the whole
process group) when the cluster is closed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AirflowCluster:
    COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")

    def __init__(self, home: Path, dags_folder: Path, env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-jwt-secret-that-is-long-enough-000",
            "AIRFLOW__API__SECRET_KEY": "e2e-secret-key",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            **env,
        }
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.session = requests.Session()

    def _airflow(self, *args: str) -> list[str]:
        return [str(BIN / "airflow"), *args]

    def start(self, timeout: float = 180.0) -> AirflowCluster:
        subprocess.run(self._airflow("db", "migrate"), env=self.env, check=True, capture_output=True)
        for component in self.COMPONENTS:
            self.launch(component)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if self.session.get(f"{self.url}/api/v2/version", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(1)
        raise TimeoutError(
            f"the Airflow API server did not come up within {timeout} s:\n{self.log('api-server')}"
        )

    def launch(self, component: str) -> None:
        """Start (or start again) one component in its own process group, appending to its log."""
        extra = ("--host", "127.0.0.1", "--port", str(self.port)) if component == "api-server" else ()
        log = (self.home / f"{component}.log").open("ab")
        self.processes[component] = subprocess.Popen(
            self._airflow(component, *extra),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, component: str) -> None:
        """``kill -9`` a component and every process it started."""
        process = self.processes[component]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"airflow {name} exited with {process.returncode}:\n{self.log(name)[-3000:]}"
                )

    def trigger_log(self, dag_id: str, task_id: str) -> str:
        """What the triggerer wrote for the task's triggers (``attempt=N.log.trigger.<job>.log``)."""
        files = sorted(
            (self.home / "logs" / f"dag_id={dag_id}").glob(f"run_id=*/task_id={task_id}/*.trigger.*.log")
        )
        return "\n".join(path.read_text(errors="replace") for path in files)

    def log(self, component: str) -> str:
        path = self.home / f"{component}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    # --- the REST API -------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.url}/api/v2/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            response = self.session.get(f"{self.url}/api/v2/dags/{dag_id}", timeout=10)
            if response.ok:
                return
            time.sleep(1)
        raise TimeoutError(
            f"DAG {dag_id} was not parsed within {timeout} s:\n{self.log('dag-processor')[-3000:]}"
        )

    def trigger(self, dag_id: str) -> str:
        self.wait_for_dag(dag_id)
        self.api("PATCH", f"dags/{dag_id}", json={"is_paused": False})
        run = self.api("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        state = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")["state"]
        return None if state is None else str(state)

    def wait(self, predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            value = predicate()
            if value:
                return value
            time.sleep(1)
        raise TimeoutError(f"{what} did not happen within {timeout} s")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240.0) -> str:
        return str(
            self.wait(
                lambda: (s := self.run_state(dag_id, run_id)) in ("success", "failed") and s,
                timeout,
                f"DAG run {dag_id}/{run_id} finishing",
            )
        )
