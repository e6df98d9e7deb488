"""Lineage records (issue 27): URLs without connection ids, the run directory as a dataset, and
Secrets left out of the pseven_run facet, key and all."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from airflow.sdk import ObjectStoragePath

from airflow_provider_pseven import lineage
from airflow_provider_pseven.client import RunRef
from airflow_provider_pseven.client.models import Parameter
from airflow_provider_pseven.tasks import notes


def test_locations_and_datasets_drop_the_connection_id(tmp_path: Path) -> None:
    assert notes.location_of("s3://my_aws@bucket/in/x.csv") == "s3://bucket/in/x.csv"
    assert notes.location_of(ObjectStoragePath("s3://my_aws@bucket/in/")) == "s3://bucket/in"
    assert notes.location_of(tmp_path / "a.csv") == str(tmp_path / "a.csv")
    assert lineage.dataset_of("s3://my_aws@bucket/in/x.csv") == ("s3://bucket", "in/x.csv")
    assert lineage.dataset_of((tmp_path / "a.csv").as_uri()) == ("file", str(tmp_path / "a.csv"))


def test_the_run_directory_is_a_pseven_dataset() -> None:
    run = {"path": "/Users/1/W.p7wf/@Runs/#1.p7run", "url": "https://P7.example:8443/pseven/.rest/v2/x/"}
    assert lineage.run_directory(run) == ("pseven://p7.example:8443", "/Users/1/W.p7wf/@Runs/#1.p7run")
    assert lineage.run_directory({"url": "https://h/"}) is None


def test_declared_and_masked_secrets_are_left_out_key_and_all() -> None:
    # "api_key": a name Airflow's masker hides whatever the value (a Variable's masked value is
    # the same path: tests/integration/test_openlineage.py, where the real masker runs).
    parameters = [
        Parameter("1", "Plain", "visible"),
        Parameter("2", "Declared", "shown-by-the-server"),
        Parameter("3", "api_key", "a-masked-value-4e1b"),
        Parameter("4", "Typed", "x", is_secret=True),
        Parameter("5", "ReadsEmpty", ""),
    ]
    sent = {"Declared": "d", "api_key": "a-masked-value-4e1b", "ReadsEmpty": "s3cr3t"}
    assert notes.safe_parameters(parameters, sent, ("Declared",)) == {"Plain": "visible"}


def test_a_summary_gives_the_whole_facet_and_inputs_become_locations(tmp_path: Path) -> None:
    task = SimpleNamespace(pseven_run_dataset="output", secret_parameters=())
    ref = RunRef.workflow("w" * 32, "r" * 32)
    summary = {"name": "n", "path": "/p.p7run", "url": "https://h/x", "state": "CONFIGURATION"}
    notes.record(task, ref, summary, inputs=["s3://c@b/k", (str(tmp_path / "a"), "renamed")])
    noted = task._pseven_lineage
    assert noted.run == {"run_id": "r" * 32, **summary}
    assert noted.inputs == ["s3://b/k", str(tmp_path / "a")] and noted.run_dataset == "output"
