"""Inputs from object storage: URLs and ObjectStoragePath resolved, checked, streamed; folders as trees."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests_mock
from af_support import RUN_ID, RUN_URL, WF_ID, FakeRun, make_context, sent, std_log
from airflow.sdk import ObjectStoragePath

from airflow_provider_pseven.client import PsevenConfigError
from airflow_provider_pseven.client.multipart import MultipartBody
from airflow_provider_pseven.operators import UploadFilesOperator
from airflow_provider_pseven.tasks.inputs import ObjectFile, resolve_inputs, url_of
from tests.unit.client.pseven_client_harness import parse_multipart

UPLOAD_URL = f"{RUN_URL}upload/"


def tree(root: Path) -> Path:
    """data/{a.txt, sub/b.txt, sub/deeper/c.txt, empty/}"""
    data = root / "data"
    (data / "sub" / "deeper").mkdir(parents=True)
    (data / "empty").mkdir()
    (data / "a.txt").write_bytes(b"alpha")
    (data / "sub" / "b.txt").write_bytes(b"bee")
    (data / "sub" / "deeper" / "c.txt").write_bytes(b"sea")
    return data


def shape(specs: list[Any]) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    found = resolve_inputs(specs)
    files = []
    for item in found.files:
        with item.source.open() as handle:
            files.append((item.folder, item.name, handle.read()))
    return sorted(files), sorted(found.folders)


TREE = (
    [("data", "a.txt", b"alpha"), ("data/sub", "b.txt", b"bee"), ("data/sub/deeper", "c.txt", b"sea")],
    ["data/empty"],
)


@pytest.mark.parametrize("form", ["path", "file-url", "object-path"])
def test_a_folder_uploads_as_its_tree_from_any_form(tmp_path: Path, form: str) -> None:
    data = tree(tmp_path)
    item: Any = {"path": data, "file-url": data.as_uri(), "object-path": ObjectStoragePath(data.as_uri())}[
        form
    ]
    assert shape([item]) == TREE
    renamed = shape([(item, "inputs")])
    assert renamed[0][0] == ("inputs", "a.txt", b"alpha") and renamed[1] == ["inputs/empty"]


def test_a_single_object_and_its_url(tmp_path: Path) -> None:
    data = tree(tmp_path)
    path = ObjectStoragePath((data / "sub" / "b.txt").as_uri())
    found = resolve_inputs([path, (str(data / "a.txt"), "renamed.txt")])
    assert [(f.folder, f.name, f.source.size) for f in found.files] == [
        ("", "b.txt", 3),
        ("", "renamed.txt", 5),
    ]
    assert isinstance(found.files[0].source, ObjectFile)
    assert found.urls == [(data / "sub" / "b.txt").as_uri(), (data / "a.txt").as_uri()]
    assert url_of(ObjectStoragePath("s3://some_conn@bucket/key/x.csv")) == "s3://bucket/key/x.csv"


def test_an_object_streams_into_the_body_in_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 400)
    source = resolve_inputs([ObjectStoragePath(big.as_uri())]).files[0].source
    body = MultipartBody([], [("file", source, "big.bin")], chunk_size=1000)
    chunks = list(body)
    assert max(len(c) for c in chunks) <= 1000 + 200
    assert parse_multipart(body.content_type, b"".join(chunks)) == [("file", "big.bin", big.read_bytes())]
    assert body.content_length == sum(len(c) for c in chunks)


def test_an_object_that_changes_size_while_sent_fails(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"12345")
    source = resolve_inputs([ObjectStoragePath(path.as_uri())]).files[0].source
    body = MultipartBody([], [("file", source, None)])
    path.write_bytes(b"123")
    with pytest.raises(PsevenConfigError, match=r"x\.bin' changed size"):
        b"".join(body)


def test_a_missing_object_is_named(tmp_path: Path) -> None:
    url = (tmp_path / "nope.csv").as_uri()
    with pytest.raises(PsevenConfigError, match=re.escape(f"Cannot upload {url}: no such object")):
        resolve_inputs([ObjectStoragePath(url)])
    with pytest.raises(PsevenConfigError, match=r"nope\.csv'.*the local file is missing"):
        resolve_inputs([url])


def test_a_missing_storage_connection_is_named() -> None:
    with pytest.raises(
        PsevenConfigError,
        match=r"Cannot read s3://bucket/in/x\.csv: its storage connection 'no_such_conn' is not defined",
    ):
        resolve_inputs(["s3://no_such_conn@bucket/in/x.csv"])


def test_an_unknown_item_type_is_refused() -> None:
    with pytest.raises(PsevenConfigError, match="a local path, a URL or an ObjectStoragePath"):
        resolve_inputs([42])


def test_upload_operator_sends_a_folder_one_request_per_folder(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    data = tree(tmp_path)
    post = requests_mock.post(UPLOAD_URL, json={"uploaded_files": ["x"], "uploaded_directories": []})
    op = UploadFilesOperator(
        task_id="u",
        workflow_id=WF_ID,
        run_id=RUN_ID,
        files=[ObjectStoragePath(data.as_uri()), str(data / "a.txt")],
        destination="in",
        directories=["made"],
    )
    std_log(op).execute(make_context())
    forms = [parse_multipart(r.headers["Content-Type"], b"".join(r.body)) for r in post.request_history]
    fields = [[(name, file, value) for name, file, value in form if file is None] for form in forms]
    files = [[(file, value) for _, file, value in form if file is not None] for form in forms]
    # The destination itself first, with every empty folder; then one request per folder of the tree.
    assert fields == [
        [("destination", None, b"in"), ("directory", None, b"made"), ("directory", None, b"data/empty")],
        [("destination", None, b"in/data")],
        [("destination", None, b"in/data/sub")],
        [("destination", None, b"in/data/sub/deeper")],
    ]
    assert files == [[("a.txt", b"alpha")], [("a.txt", b"alpha")], [("b.txt", b"bee")], [("c.txt", b"sea")]]


def test_nothing_is_sent_when_one_input_is_missing(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    data = tree(tmp_path)
    op = UploadFilesOperator(
        task_id="u", workflow_id=WF_ID, run_id=RUN_ID, files=[str(data), data.as_uri() + "/nope.txt"]
    )
    with pytest.raises(PsevenConfigError, match=r"nope\.txt"):
        std_log(op).execute(make_context())
    assert sent(requests_mock, "POST") == []
