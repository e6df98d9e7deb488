"""Issue 27, point 1: XCom records where each file went as a URL, beside the return values that
DAGs already read (unchanged): ``uploaded_urls`` (``pseven://``), ``downloaded_urls`` (``file://``
or the object-storage URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests_mock
from af_support import RUN_ID, RUN_URL, WF_ID, FakeRun, FakeTI, make_context, std_log

from airflow_provider_pseven import assets
from airflow_provider_pseven.operators import DownloadFileOperator, UploadFilesOperator
from airflow_provider_pseven.operators.files import written_url
from airflow_provider_pseven.tasks.xcoms import ResultXComs, xcom_key_problem

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}
RUN_DIR = "/Users/1/ToyWorkflow.p7wf/@Runs/run-1.p7run"


def test_a_storage_url_is_the_uri_of_the_same_files_asset() -> None:
    """Host lower-cased, ``#`` as ``%23``, ``@`` kept: what Airflow's normaliser makes of the Asset."""
    path = "/Users/1/W.p7wf/@Runs/#00000001.p7run/in put.csv"
    url = assets.storage_uri("https://user@P7.Example:8443/pseven/.rest/v2/x/", path)
    assert url == "pseven://p7.example:8443/Users/1/W.p7wf/@Runs/%2300000001.p7run/in%20put.csv"
    assert assets.create_asset(host="P7.Example:8443", path=path).uri == url


def test_upload_pushes_where_each_file_went(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    (tmp_path / "a.txt").write_bytes(b"alpha")
    stored = [f"{RUN_DIR}/inputs/a.txt", "inputs/b.txt"]  # the guide's storage path, and a relative one
    requests_mock.post(f"{RUN_URL}upload/", json={"uploaded_files": stored, "uploaded_directories": []})
    ti = FakeTI()
    op = std_log(
        UploadFilesOperator(task_id="u", files=[str(tmp_path / "a.txt")], destination="inputs", **IDS)
    )
    assert op.execute(make_context(ti=ti)) == stored  # the return value is as it was
    base = f"pseven://p7.test{RUN_DIR}"
    assert ti.pushed["uploaded_urls"] == [f"{base}/inputs/a.txt", f"{base}/inputs/b.txt"]


def test_download_pushes_each_written_file_as_a_url(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "FINISHED", files={"out/r.txt": b"r", "out/sub/s.txt": b"s"})
    ti = FakeTI()
    op = DownloadFileOperator(task_id="d", file="out", destination=f"{tmp_path}/", **IDS)
    written = std_log(op).execute(make_context(ti=ti))
    assert written == [str(tmp_path / "out" / "r.txt"), str(tmp_path / "out" / "sub" / "s.txt")]
    assert ti.pushed["downloaded_urls"] == [Path(p).as_uri() for p in written]


def test_written_urls(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert written_url("s3://bucket/out/r.txt") == "s3://bucket/out/r.txt"  # object storage: as it is
    assert (
        written_url("rel/r 1.txt")
        == (tmp_path / "rel" / "r 1.txt").as_uri()
        == f"file://{tmp_path}/rel/r%201.txt"
    )


def test_a_result_named_like_a_url_key_does_not_overwrite_it() -> None:
    reserved = ResultXComs().reserved
    assert xcom_key_problem("uploaded_urls", reserved) == "the task uses that XCom key itself"
    assert xcom_key_problem("downloaded_urls", reserved) == "the task uses that XCom key itself"
