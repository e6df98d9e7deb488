"""Workers that share no disk (issue 27): the production-shaped cluster (PostgreSQL, CeleryExecutor
with a Redis broker, two workers, two triggerers), each worker in a working directory of its own,
and an S3-compatible object store on loopback (moto's server) reached through Airflow's amazon
provider and an ``aws`` connection. Nothing else is shared: no output folder is set.

1. the chain data-prep -> upload -> run -> download -> report passes with consecutive tasks on
   different workers (each task's queue is one worker's), files passing only through S3;
2. the ``@task.pseven`` sweep (example_dags/example_pseven_decorator.py, mapped over six cases)
   passes with its base in S3.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.conftest import MEASURED, require_cluster_deps
from tests.sweep_values import SWEEP_TOKEN

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "pseven-cluster"
DAG_FILES = (
    ROOT / "tests/cluster/dags/cluster_objstore.py",
    ROOT / "example_dags/example_pseven_decorator.py",
)


class Cluster:
    def __init__(self, cluster: Any, store: Any, home: Path) -> None:
        self.cluster = cluster
        self.store = store
        self.home = home

    def run(self, dag_id: str, conf: dict[str, Any] | None = None, timeout: float = 300.0) -> str:
        run_id = self.cluster.trigger(dag_id, conf)
        state = self.cluster.wait_for_run(dag_id, run_id, timeout)
        assert state == "success", self.states(dag_id, run_id)
        return run_id

    def states(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return {
            (ti["task_id"], ti["map_index"]): (ti["state"], ti["hostname"])
            for ti in self.cluster.task_instances(dag_id, run_id)
        }


@pytest.fixture(scope="module")
def cl(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    require_cluster_deps()
    for module in ("moto.server", "airflow.providers.amazon", "s3fs"):
        pytest.importorskip(module, reason="the cluster extra (make cluster-deps) brings it")
    from airflow_provider_pseven.emulator import EmulatorServer
    from tests.cluster.harness import ProductionCluster, Services
    from tests.support.s3_store import S3Store

    home = Path(tempfile.mkdtemp(prefix="pseven-no-shared-disk-"))
    dags = home / "dags"
    dags.mkdir()
    for dag_file in DAG_FILES:
        shutil.copy(dag_file, dags / dag_file.name)
    failed_before = request.session.testsfailed
    started = time.monotonic()
    with (
        Services() as services,
        EmulatorServer(time_scale=0.2, token=SWEEP_TOKEN) as emulator,
        S3Store(home) as store,
    ):
        store.put(BUCKET, {})
        env = {
            "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json(),
            "AIRFLOW_CONN_CLUSTER_S3": store.connection_json(),
            "PSEVEN_CLUSTER_S3_BASE": f"s3://cluster_s3@{BUCKET}",
            "PSEVEN_EXAMPLES_BASE": f"s3://cluster_s3@{BUCKET}/examples",
            "PSEVEN_POLL_INTERVAL": "1",
        }
        env.pop("PSEVEN_DEMO_OUTPUT", None)
        cluster = ProductionCluster(home, dags, services, env, worker_concurrency=4)
        try:
            cluster.start()
            MEASURED["no-shared-disk cluster start s"] = round(cluster.startup_seconds, 1)
            yield Cluster(cluster, store, home)
        finally:
            cluster.stop()
            MEASURED["no-shared-disk module wall time s"] = round(time.monotonic() - started, 1)
            if request.session.testsfailed > failed_before or os.environ.get("PSEVEN_CLUSTER_KEEP"):
                print(f"\nThe no-shared-disk cluster's Airflow home is kept in {home}")
            else:
                shutil.rmtree(home, ignore_errors=True)


def test_chain_through_object_storage_on_different_workers(cl: Cluster) -> None:
    run_id = cl.run("cluster_no_shared_disk", {"tag": "chain"})

    where = {task: host for (task, _), (_, host) in cl.states("cluster_no_shared_disk", run_id).items()}
    assert where == {
        "prepare": "worker-1",
        "deploy": "worker-2",
        "upload": "worker-2",
        "start": "worker-1",
        "download": "worker-2",
        "report": "worker-1",
    }
    report = cl.cluster.xcom("cluster_no_shared_disk", run_id, "report")
    assert report == {"InputLineCount": 4, "read_from": f"s3://cluster_s3@{BUCKET}/chain/out/results.json"}
    stored = cl.store.read(BUCKET, "chain/")
    assert stored["chain/input.txt"] == b"0\n1\n2\n3\n"
    assert json.loads(stored["chain/out/results.json"])["InputLineCount"] == 4
    # The input was written on worker-1's disk only; worker-2 uploaded it from S3.
    assert (cl.home / "worker-1" / "input.txt").exists()
    assert not (cl.home / "worker-2" / "input.txt").exists()


def test_decorator_sweep_with_its_files_in_object_storage(cl: Cluster) -> None:
    dag_id = "example_pseven_decorator"
    run_id = cl.run(dag_id, timeout=600.0)

    states = cl.states(dag_id, run_id)
    mapped = {index: host for (task, index), (_, host) in states.items() if task == "disk_case"}
    assert len(mapped) == 6 and set(mapped.values()) <= {"worker-1", "worker-2"}
    MEASURED["no-shared-disk sweep: mapped tasks per worker"] = {
        host: list(mapped.values()).count(host) for host in sorted(set(mapped.values()))
    }
    folder = f"examples/{dag_id}/"
    stored = cl.store.read(BUCKET, folder)
    summaries = [key for key in stored if key.endswith("/summary.json")]
    assert len(summaries) == 1, sorted(stored)
    best = json.loads(stored[summaries[0]])["best"]
    assert best == cl.cluster.xcom(dag_id, run_id, "report")
    assert len([key for key in stored if "/designs/" in key]) == 6
