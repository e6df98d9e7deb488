"""Inputs from object storage and outputs to it, through Airflow's own storage connections, against
the emulator over loopback HTTP and an S3 server (moto) on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.airflow_harness import run_dag, task_states, xcom
from tests.support.s3_store import S3Store

BUCKET = "pseven-it"
# Storage is what these tests are about: one emulator variant, the guide's (nested listings allowed).
GUIDE = pytest.mark.pseven_emulator(variants="guide")
TREE = {"in/tree/a.txt": b"alpha", "in/tree/sub/b.txt": b"bee"}


@pytest.fixture(scope="module")
def s3_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    # The cluster extra brings both (make test installs it); the compat venvs of older Airflows do not.
    pytest.importorskip("moto.server", reason="moto[server] is in the cluster extra (make cluster-deps)")
    pytest.importorskip("airflow.providers.amazon", reason="the amazon provider is in the cluster extra")
    with S3Store(tmp_path_factory.mktemp("s3")) as store:
        store.put(BUCKET, {"in/input.txt": b"a\nb\nc\n", **TREE})
        yield store


@pytest.fixture
def it_s3(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> S3Store:
    monkeypatch.setenv("AIRFLOW_CONN_IT_S3", s3_store.connection_json())
    return s3_store


@pytest.mark.integration
@GUIDE
def test_upload_from_s3_list_and_download_back(pseven_connection: Any, it_s3: S3Store) -> None:
    dag_run = run_dag("it_objstore.py", "it_objstore_steps")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    listed = {e["path"]: e["size"] for e in xcom(dag_run, "list") if not e["is_dir"]}
    assert listed == {"inputs/input.txt": 6, "inputs/tree/a.txt": 5, "inputs/tree/sub/b.txt": 3}
    assert len(xcom(dag_run, "upload")) == 3
    # The folder went back to object storage as a tree; XCom names each object by its URL.
    assert it_s3.read(BUCKET, "out/") == {"out/tree/a.txt": b"alpha", "out/tree/sub/b.txt": b"bee"}
    assert sorted(xcom(dag_run, "download")) == [
        f"s3://it_s3@{BUCKET}/out/tree/a.txt",
        f"s3://it_s3@{BUCKET}/out/tree/sub/b.txt",
    ]


@pytest.mark.integration
@GUIDE
def test_run_workflow_reads_its_input_from_s3(pseven_connection: Any, it_s3: S3Store) -> None:
    dag_run = run_dag("it_objstore.py", "it_objstore_cycle")

    assert task_states(dag_run) == {"cycle": "success"}
    assert xcom(dag_run, "cycle")["InputLineCount"] == 3
    written = it_s3.read(BUCKET, "results/")
    assert json.loads(written["results/results.json"])["InputLineCount"] == 3


@pytest.mark.integration
@GUIDE
def test_a_missing_connection_or_object_fails_before_deploying(
    pseven_connection: Any, it_s3: S3Store, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run_dag("it_objstore.py", "it_objstore_bad")

    assert task_states(dag_run) == {"no_connection": "failed", "no_object": "failed"}
    assert pseven_connection.state.deploy_count() == 0
    logs = "".join(capfd.readouterr())  # the task logs: the error names the URL
    assert "Cannot read s3://pseven-it/in/input.txt: its storage connection 'it_no_such_conn' is not" in logs
    assert f"Cannot upload s3://{BUCKET}/in/nope.csv: no such object" in logs
