"""A production-shaped Airflow 3.3 as real processes, on this machine's services.

- metadata in PostgreSQL (``postgresql+psycopg2://``), in a database of its own, dropped at the end;
- CeleryExecutor with a Redis broker on a Redis database number of its own (flushed at the end) and
  Celery's result backend in the same PostgreSQL database;
- two Celery workers, two triggerers, the scheduler, the dag-processor and the api-server; each
  worker in a working directory of its own (``<home>/worker-N``, as on separate machines) and
  listening on its own queue (its name) besides ``default``;
- the simple auth manager with a real user and password (the UI's sign-in page, JWTs for the API).

Each component logs to ``<home>/<component>.log``; task and trigger logs go to ``<home>/logs``. The
caller keeps ``home`` when a test failed. Everything listens on 127.0.0.1 only. The services'
addresses come from ``PSEVEN_CLUSTER_PG`` (default ``postgresql+psycopg2://postgres@127.0.0.1:5432``)
and ``PSEVEN_CLUSTER_REDIS`` (default ``redis://127.0.0.1:6379``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("PSEVEN_CLUSTER_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("PSEVEN_CLUSTER_REDIS", "redis://127.0.0.1:6379")
REDIS_CLAIM_KEY = "pseven-cluster-test-claim"
T = TypeVar("T")

ADMIN = "admin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_connect(dbname: str) -> Any:
    """A psycopg2 connection (autocommit) to ``dbname`` on the PG_SERVER."""
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(PG_SERVER)
    connection = psycopg2.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=dbname,
        connect_timeout=10,
    )
    connection.autocommit = True
    return connection


class Services:
    """A PostgreSQL database and a Redis database number that belong to one test run only."""

    def __init__(self) -> None:
        self.database = f"pseven_cluster_{secrets.token_hex(4)}"
        self.redis_db: int | None = None

    def __enter__(self) -> Services:
        with contextlib.closing(pg_connect("postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        self.redis_db = self._claim_redis_db()
        return self

    def _claim_redis_db(self) -> int:
        import redis

        for number in range(15, 0, -1):
            client = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
            try:
                if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, self.database, nx=True):
                    return number
            finally:
                client.close()
        raise RuntimeError(f"no empty Redis database number at {REDIS_SERVER} (1-15 are all in use)")

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(f"{REDIS_SERVER}/{self.redis_db}")

    def __exit__(self, *exc: object) -> None:
        if self.redis_db is not None:
            client = self.redis()
            try:
                client.flushdb()
            finally:
                client.close()
        with contextlib.closing(pg_connect("postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    @property
    def sql_alchemy_conn(self) -> str:
        return f"{PG_SERVER}/{self.database}"

    @property
    def broker_url(self) -> str:
        return f"{REDIS_SERVER}/{self.redis_db}"

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(pg_connect(self.database)) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args or None)
            return list(cursor.fetchall())


class ProductionCluster:
    """The components as separate process groups; ``launch``/``kill`` work on any one of them."""

    TRIGGERERS = ("triggerer-1", "triggerer-2")
    WORKERS = ("worker-1", "worker-2")
    COMPONENTS = ("api-server", "scheduler", "dag-processor", *TRIGGERERS, *WORKERS)

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        services: Services,
        env: dict[str, str],
        *,
        worker_concurrency: int = 8,
    ) -> None:
        from cryptography.fernet import Fernet

        self.home = home
        self.services = services
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(12)
        self.fernet_key = Fernet.generate_key().decode()
        self.worker_concurrency = worker_concurrency
        (home / "passwords.json").write_text(json.dumps({ADMIN: self.password}))
        # Each triggerer and worker names itself (job rows', task instances' hostname), as on
        # separate machines.
        (home / "cluster_hostname.py").write_text(
            "import os, socket\n\n\ndef hostname():\n"
            "    return os.environ.get('PSEVEN_CLUSTER_HOSTNAME') or socket.getfqdn()\n"
        )
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "64",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "256",
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": services.sql_alchemy_conn,
            "AIRFLOW__CELERY__BROKER_URL": services.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + services.sql_alchemy_conn,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "1000",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(16),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # The DAG files do not change during a test: parse each once, not every 30 s (its CPU).
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cluster_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(p for p in (str(home), os.environ.get("PYTHONPATH")) if p),
            **env,
        }
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[str] = set()
        self.session = requests.Session()

    # --- processes ---------------------------------------------------------------------------

    def _airflow(self, *args: str) -> list[str]:
        return [str(BIN / "airflow"), *args]

    def command(self, component: str) -> list[str]:
        if component == "api-server":
            return self._airflow("api-server", "--host", "127.0.0.1", "--port", str(self.port))
        if component in self.TRIGGERERS:
            return self._airflow("triggerer", "--skip-serve-logs")
        if component in self.WORKERS:
            return self._airflow(
                "celery",
                "worker",
                "--celery-hostname",
                f"{component}@localhost",
                "--queues",
                f"default,{component}",
                "--concurrency",
                str(self.worker_concurrency),
                "--skip-serve-logs",
            )
        return self._airflow(component)

    def start(self, timeout: float = 240.0) -> ProductionCluster:
        started = time.monotonic()
        migrate = subprocess.run(
            self._airflow("db", "migrate"), env=self.env, capture_output=True, text=True, check=False
        )
        (self.home / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        if migrate.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{(migrate.stdout + migrate.stderr)[-3000:]}")
        self.migrate_seconds = time.monotonic() - started
        for component in self.COMPONENTS:
            self.launch(component)
        self.wait(self._signed_in, timeout, "the API server answering")
        self.wait(lambda: len(self.alive_triggerers()) == 2, timeout, "both triggerers heartbeating")
        self.wait(lambda: len(self.celery_workers()) == 2, timeout, "both Celery workers ready")
        self.startup_seconds = time.monotonic() - started
        return self

    def launch(self, component: str) -> None:
        """Start (or start again) one component in its own process group, appending to its log."""
        log = (self.home / f"{component}.log").open("ab")
        named = component in (*self.TRIGGERERS, *self.WORKERS)  # job rows and task instances say who
        env = {**self.env, "PSEVEN_CLUSTER_HOSTNAME": component} if named else self.env
        workdir = self.home / component if component in self.WORKERS else None
        if workdir is not None:
            workdir.mkdir(exist_ok=True)
        self.processes[component] = subprocess.Popen(
            self.command(component),
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.killed.discard(component)

    def kill(self, component: str) -> list[int]:
        """``kill -9`` a component and every process under it, as when its machine dies: its
        process group and every descendant (a Celery task process runs in a session of its own).
        Returns the pids killed."""
        import psutil

        process = self.processes[component]
        self.killed.add(component)
        try:
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for member in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        process.wait(10)
        psutil.wait_procs(tree, timeout=10)
        return [member.pid for member in tree]

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if name not in self.killed and process.poll() is not None:
                raise RuntimeError(
                    f"airflow {name} exited with {process.returncode}:\n{self.log(name)[-3000:]}"
                )

    def stop(self) -> None:
        import psutil

        tree: list[psutil.Process] = []
        for process in self.processes.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                tree += psutil.Process(process.pid).children(recursive=True)
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        # Whatever is left in a component's group (a task process of a Celery worker) goes too.
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        for member in tree:  # task processes in sessions of their own
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()

    def log(self, component: str) -> str:
        path = self.home / f"{component}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait(self, predicate: Callable[[], T], timeout: float, what: str, every: float = 1.0) -> T:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {timeout:g} s (logs in {self.home})")
            time.sleep(every)

    # --- what the components say about themselves ---------------------------------------------

    def triggerer_jobs(self) -> dict[int, dict[str, Any]]:
        """TriggererJob rows: id -> {hostname, pid, state, heartbeat age in s}."""
        rows = self.services.query(
            "SELECT id, hostname, unixname, state, EXTRACT(EPOCH FROM (now() - latest_heartbeat)), "
            "end_date FROM job WHERE job_type = 'TriggererJob'"
        )
        return {
            r[0]: {"hostname": r[1], "state": r[3], "age": float(r[4]), "ended": r[5] is not None}
            for r in rows
        }

    def alive_triggerers(self, threshold: float = 10.0) -> list[int]:
        return [i for i, job in self.triggerer_jobs().items() if not job["ended"] and job["age"] < threshold]

    def triggerer_job_ids(self) -> dict[str, int]:
        """Component name -> its live TriggererJob id (each triggerer's hostname is its name)."""
        return {
            job["hostname"]: job_id
            for job_id, job in sorted(self.triggerer_jobs().items())
            if not job["ended"] and job["hostname"] in self.TRIGGERERS
        }

    def celery_workers(self) -> list[str]:
        """The Celery workers that answer a ping (through the broker)."""
        for component in self.WORKERS:
            if f"{component}@localhost ready" in self.log(component):
                continue
            return []
        return list(self.WORKERS)

    # --- the REST API ------------------------------------------------------------------------

    def _signed_in(self) -> bool:
        try:
            response = requests.post(
                f"{self.url}/auth/token", json={"username": ADMIN, "password": self.password}, timeout=5
            )
        except requests.RequestException:
            return False
        if not response.ok:
            return False
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return True

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.url}/api/v2/{path}", timeout=60, **kwargs)
        if not response.ok:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> None:
        def parsed() -> bool:
            return self.session.get(f"{self.url}/api/v2/dags/{dag_id}", timeout=10).ok

        self.wait(parsed, timeout, f"DAG {dag_id} being parsed")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        self.wait_for_dag(dag_id)
        run = self.api("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0) -> str:
        return self.wait(
            lambda: (s := self.run_state(dag_id, run_id)) in ("success", "failed") and s,
            timeout,
            f"DAG run {dag_id}/{run_id} finishing",
            every=2.0,
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        result = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return list(result["task_instances"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"))

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value

    # --- trigger logs ------------------------------------------------------------------------

    def trigger_logs(self, dag_id: str, task_id: str) -> dict[Path, str]:
        """The triggerers' log files of a task's triggers: ``...attempt=N.log.trigger.<job id>.log``."""
        folder = self.home / "logs" / f"dag_id={dag_id}"
        return {
            path: path.read_text(errors="replace")
            for path in sorted(folder.glob(f"run_id=*/task_id={task_id}/**/*.trigger.*.log"))
        }

    @staticmethod
    def job_of_trigger_log(path: Path) -> int:
        return int(path.name.rsplit(".", 2)[-2])


def process_tree_sum(pid: int, measure: Callable[[Any], float]) -> float:
    """``measure`` (of a psutil.Process) summed over a process and its live descendants; a process
    that exits meanwhile counts 0."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += measure(process)
    return total


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, its reaped children and its live descendants."""

    def cpu(process: Any) -> float:
        times = process.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    return process_tree_sum(pid, cpu)
