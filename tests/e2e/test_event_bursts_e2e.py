"""Issue 23 with real processes (api-server, scheduler, dag-processor, triggerer; LocalExecutor), on
SQLite and on PostgreSQL: pSeven runs that end together each reach exactly one DAG run, within
``POLL + 15 s`` of their end, with nothing after them to push them through.

The scenarios share one Airflow per database (started once, in the order below):

1. 10 runs ending within one poll interval, nothing after them;
2. the same across a ``kill -9`` of the triggerer in the middle of it;
3. a ``max_active_runs=1`` consumer that is busy when the burst ends;
4. 3 watchers on 3 workflows whose runs end together;

and the documented workaround for a busy consumer whose burst spans two looks: the work serialised
by a pool of one slot instead of ``max_active_runs=1``.

Which runs a DAG run holds is read from the metadata database (``dagrun_asset_event``), the DAG
run's creation time from ``dag_run.queued_at``; a run's FINISHED is seen in the emulator every 20 ms.
PostgreSQL: ``PSEVEN_CLUSTER_PG`` (default ``postgresql+psycopg2://postgres@127.0.0.1:5432``), in a
database of the test's own, dropped at the end. ``PSEVEN_E2E_KEEP=1`` keeps the Airflow home.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pseven.compat import HAS_EVENT_WATCHERS
from airflow_provider_pseven.emulator import EmulatorServer
from airflow_provider_pseven.emulator.workflows import Workflow, toy_workflow
from tests.e2e.cluster import AirflowCluster
from tests.events_support import FinishWatch, deploy_run, launch_run, wait_finished, workflow_id
from tests.sweep_values import SWEEP_TOKEN, leaks

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not HAS_EVENT_WATCHERS, reason="needs Airflow 3.3+: RunEventTrigger"),
]

DAGS = Path(__file__).parent / "burst_dags"
POLL = 5.0
BOUND = POLL + 15.0  # the bound: a run's FINISHED to a DAG run that holds it
BUSY = 8.0  # seconds a DAG run of the max_active_runs=1 consumer takes
WATCHERS = ("Burst", "Busy", "Trio1", "Trio2", "Trio3", "Pooled")


def workflows() -> list[Workflow]:
    toy = toy_workflow()
    return [
        Workflow(
            path=f"/Users/1/{name}.p7wf",
            function=toy.function,
            parameters=toy.parameters,
            results=toy.results,
        )
        for name in WATCHERS
    ]


@contextmanager
def postgres() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL, dropped at the end."""
    from tests.cluster.harness import PG_SERVER, Services, pg_connect

    name = Services().database.replace("cluster", "events")
    with closing(pg_connect("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with closing(pg_connect("postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Bed:
    airflow: AirflowCluster
    emulator: EmulatorServer
    database: str  # "sqlite" or a SQLAlchemy URL
    watch: FinishWatch
    figures: dict[str, Any] = field(default_factory=dict)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.database == "sqlite":
            with closing(sqlite3.connect(self.airflow.home / "airflow.db", timeout=10)) as db:
                return list(db.execute(sql).fetchall())
        from tests.cluster.harness import pg_connect

        with closing(pg_connect(self.database.rsplit("/", 1)[1])) as db, db.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    def deliveries(self, dag_id: str) -> dict[str, tuple[float, list[str]]]:
        """DAG run id -> (created, the pSeven runs of its triggering events)."""
        rows = self.query(
            "SELECT dr.run_id, dr.queued_at, ae.extra FROM dag_run dr "
            "JOIN dagrun_asset_event dae ON dae.dag_run_id = dr.id "
            f"JOIN asset_event ae ON ae.id = dae.event_id WHERE dr.dag_id = '{dag_id}' ORDER BY ae.id"
        )
        found: dict[str, tuple[float, list[str]]] = {}
        for run_id, queued_at, stored in rows:
            extra = json.loads(stored) if isinstance(stored, str) else stored
            runs = [r["run_id"] for r in extra["payload"]["runs"]]
            found.setdefault(run_id, (stamp(queued_at), []))[1].extend(runs)
        return found

    def nothing_pending(self) -> bool:
        rows = self.query("SELECT value FROM asset_state_store WHERE key LIKE 'pseven.run_events.%'")
        values = [json.loads(v) if isinstance(v, str) else v for (v,) in rows]
        return len(values) == len(WATCHERS) and all(v["pending"] == [] for v in values)

    def deploy(self, name: str, count: int) -> tuple[str, list[str]]:
        """``count`` runs of workflow ``name``, deployed and waiting to be started."""
        path = f"/Users/1/{name}.p7wf"
        with ThreadPoolExecutor(8) as pool:
            return workflow_id(self.emulator, path), list(
                pool.map(lambda _: deploy_run(self.emulator, path), range(count))
            )

    def launch(self, wid: str, runs: list[str]) -> None:
        """Start the runs at once: they end together."""
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda run_id: launch_run(self.emulator, wid, run_id), runs))

    def after_a_look(self, wid: str) -> None:
        """Return just after the watcher's next look at the runs list of ``wid``: runs started now
        end (0.3 s later) well before the look after it."""
        mark = time.time()

        def looked() -> bool:
            entries = self.emulator.requests.entries(method="GET")
            return any(e.time > mark and e.path.endswith(f"workflows/{wid}/runs/") for e in entries)

        deadline = time.monotonic() + 3 * POLL
        while not looked():
            assert time.monotonic() < deadline, f"no look at the runs of {wid} within {3 * POLL} s"
            time.sleep(0.05)

    def burst(self, name: str, count: int) -> tuple[str, list[str]]:
        wid, runs = self.deploy(name, count)
        self.launch(wid, runs)
        return wid, runs

    def delivered(self, dag_id: str, runs: list[str], what: str) -> dict[str, float]:
        """Wait until every run of ``runs`` is in a DAG run of ``dag_id``, then one more look for a
        duplicate; check each is in exactly one; the latency of each (FINISHED to DAG run created)."""
        wanted = set(runs)

        def all_there() -> bool:
            return wanted <= {r for _, held in self.deliveries(dag_id).values() for r in held}

        self.airflow.wait(all_there, 4 * BOUND + 60, f"{what}: every run in a DAG run of {dag_id}")
        self.airflow.wait(self.nothing_pending, 60, f"{what}: the watchers' confirmations")
        time.sleep(POLL + 1)  # one more look: a run reported twice would show up now
        counts = Counter(r for _, held in self.deliveries(dag_id).values() for r in held if r in wanted)
        assert counts == Counter(runs), f"{what}: runs not in exactly one DAG run: {counts}"
        latency = {}
        for created, held in self.deliveries(dag_id).values():
            for run_id in held:
                if run_id in wanted:
                    latency[run_id] = created - self.watch.finished[run_id]
        return latency


def stamp(value: Any) -> float:
    """A UTC time of the metadata database (PostgreSQL: aware; SQLite: text without a zone)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bed(request) -> Iterator[Bed]:
    home = Path(tempfile.mkdtemp(prefix=f"pseven-e2e-bursts-{request.param}-"))
    database_for = postgres if request.param == "postgresql" else _sqlite
    with (
        EmulatorServer(time_scale=0.2, token=SWEEP_TOKEN, workflows=workflows()) as emulator,
        database_for() as database,
    ):
        env = {
            "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json(),
            "PSEVEN_E2E_POLL": str(POLL),
            "PSEVEN_E2E_BUSY": str(BUSY),
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
        }
        if database != "sqlite":
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = database
        airflow = AirflowCluster(home, DAGS, env)
        try:
            airflow.start()
            for dag_id in ("burst", "busy", "trio"):
                airflow.wait_for_dag(dag_id)
            airflow.wait(
                lambda: (
                    airflow.log("triggerer").count("reporting runs that end from now on") >= len(WATCHERS)
                ),
                180,
                "the watchers starting",
            )
            with FinishWatch(emulator) as watch:
                bed = Bed(airflow, emulator, database, watch)
                yield bed
            print(f"\n{request.param}: FINISHED -> DAG run created (s): {bed.figures}")
            assert not leaks(airflow.log("triggerer"))
        finally:
            airflow.stop()
            if not os.environ.get("PSEVEN_E2E_KEEP"):
                shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _sqlite() -> Iterator[str]:
    yield "sqlite"


def worst(latency: dict[str, float]) -> float:
    return round(max(latency.values()), 2)


def test_ten_runs_ending_together_with_nothing_after_them(bed: Bed):
    _, runs = bed.burst("Burst", 10)
    latency = bed.delivered("burst", runs, "10 runs ending together")
    bed.figures["10 runs"] = worst(latency)
    assert max(latency.values()) <= BOUND, latency


def test_ten_runs_across_a_kill_9_of_the_triggerer(bed: Bed):
    wid, runs = bed.deploy("Burst", 10)
    first, second = runs[:5], runs[5:]
    bed.launch(wid, first)
    bed.delivered("burst", first, "the first 5 runs")
    bed.airflow.kill("triggerer")  # kill -9, after the watcher wrote the first runs as seen
    bed.launch(wid, second)  # they end while no triggerer runs
    for run_id in second:
        wait_finished(bed.emulator, wid, run_id)
    relaunched = time.time()
    bed.airflow.launch("triggerer")
    latency = bed.delivered("burst", first + second, "10 runs across a kill -9")
    restart = {r: latency[r] - (relaunched - bed.watch.finished[r]) for r in second}
    bed.figures["kill -9: first 5"] = worst({r: latency[r] for r in first})
    bed.figures["kill -9: last 5, from the triggerer's relaunch"] = worst(restart)
    assert max(latency[r] for r in first) <= BOUND
    # Runs that ended with no triggerer running wait for a new one to start and take over.
    assert max(restart.values()) <= BOUND + 30, restart


def test_a_busy_max_active_runs_1_consumer_gets_the_burst_in_its_next_dag_run(bed: Bed):
    wid, runs = bed.deploy("Busy", 10)
    _, (opener,) = bed.burst("Busy", 1)  # its DAG run keeps the consumer busy for BUSY seconds
    bed.airflow.wait(lambda: bed.deliveries("busy"), BOUND + 30, "the busy DAG run")
    # The burst ends while that DAG run runs, within one look: a second look's event while the same
    # DAG run still ran would wait for a later event (Airflow 3.3.2, docs/events.md).
    bed.after_a_look(wid)
    bed.launch(wid, runs)
    latency = bed.delivered("busy", [opener, *runs], "a busy max_active_runs=1 consumer")
    bed.figures["busy consumer"] = worst({r: latency[r] for r in runs})
    assert max(latency.values()) <= BOUND, latency


def test_three_watchers_on_three_workflows_ending_together(bed: Bed):
    with ThreadPoolExecutor(3) as pool:
        bursts = list(pool.map(lambda name: bed.burst(name, 4), ("Trio1", "Trio2", "Trio3")))
    runs = [run_id for _, ids in bursts for run_id in ids]
    latency = bed.delivered("trio", runs, "3 watchers on 3 workflows")
    bed.figures["3 watchers"] = worst(latency)
    assert max(latency.values()) <= BOUND, latency


def test_the_pool_workaround_takes_a_burst_spanning_two_looks_while_busy(bed: Bed):
    """With ``max_active_runs=1`` the second look's event would wait for a later event (Airflow
    3.3.2); with the work serialised by a pool, each look's event makes its DAG run at once."""
    wid, runs = bed.deploy("Pooled", 10)
    _, (opener,) = bed.burst("Pooled", 1)  # its DAG run holds the pool's one slot for BUSY seconds
    bed.airflow.wait(lambda: bed.deliveries("pooled"), BOUND + 30, "the first pooled DAG run")
    bed.after_a_look(wid)
    bed.launch(wid, runs[:5])
    bed.after_a_look(wid)  # the watcher reported those 5; the rest end before its next look
    bed.launch(wid, runs[5:])
    latency = bed.delivered("pooled", [opener, *runs], "a burst over two looks, pooled consumer")
    bed.figures["pooled, two looks"] = worst({r: latency[r] for r in runs})
    assert len(bed.deliveries("pooled")) >= 3  # the opener's, and one per look
    assert max(latency.values()) <= BOUND, latency
