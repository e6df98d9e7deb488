"""File operators: upload, download (files, folders, unsafe names, atomic writes), list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import requests_mock
from af_support import RUN_ID, RUN_URL, WF_ID, FakeRun, broken_download, make_context, sent, std_log

from airflow_provider_pseven.client import PsevenConfigError, PsevenNotFoundError, PsevenTransportError
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.operators import DownloadFileOperator, ListFilesOperator, UploadFilesOperator

IDS = {"workflow_id": WF_ID, "run_id": RUN_ID}
FILES = {"top.txt": b"top", "out/result.txt": b"result", "out/sub/b.txt": b"bee"}
UPLOAD_URL = f"{RUN_URL}upload/"


def body_of(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return b"".join(bytes(chunk) for chunk in body)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- UploadFilesOperator ------------------------------------------------------------------------------


def upload_op(**kwargs: Any) -> UploadFilesOperator:
    return std_log(UploadFilesOperator(task_id="u", **IDS, **kwargs))


def test_upload_files_with_rename_destination_and_folders(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    (tmp_path / "a.txt").write_bytes(b"alpha")
    (tmp_path / "b.csv").write_bytes(b"1,2")
    post = requests_mock.post(
        UPLOAD_URL,
        json={"uploaded_files": ["inputs/a.txt", "inputs/data.csv"], "uploaded_directories": ["inputs/tmp"]},
    )
    result = upload_op(
        files=[str(tmp_path / "a.txt"), (str(tmp_path / "b.csv"), "data.csv")],
        destination="inputs",
        directories=["tmp"],
    ).execute(make_context())
    assert result == ["inputs/a.txt", "inputs/data.csv"]
    assert post.call_count == 1
    body = body_of(post.last_request)
    assert post.last_request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="destination"\r\n\r\ninputs' in body
    assert b'name="directory"\r\n\r\ntmp' in body
    assert b'filename="a.txt"' in body and b"alpha" in body
    assert b'filename="data.csv"' in body and b"1,2" in body


@pytest.mark.parametrize("state", ["QUEUED_TO_INITIALIZE", "RUNNING", "FINISHED"])
def test_upload_refuses_a_run_not_in_configuration(
    requests_mock: requests_mock.Mocker, tmp_path: Path, state: str
) -> None:
    FakeRun(requests_mock, state)
    (tmp_path / "a.txt").write_bytes(b"alpha")
    with pytest.raises(
        AirflowFailException, match=f"is {state}: files can be uploaded only in CONFIGURATION"
    ):
        upload_op(files=[str(tmp_path / "a.txt")]).execute(make_context())
    assert sent(requests_mock, "POST") == []


def test_upload_of_a_missing_file_names_it_and_sends_nothing(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    (tmp_path / "present.txt").write_bytes(b"x")
    missing = tmp_path / "missing.txt"
    with pytest.raises(PsevenConfigError, match=f"Cannot upload '{missing}'"):
        upload_op(files=[str(tmp_path / "present.txt"), str(missing)]).execute(make_context())
    assert sent(requests_mock, "POST") == []


def test_upload_whose_answer_is_lost_is_uploaded_again(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    (tmp_path / "a.txt").write_bytes(b"alpha")
    post = requests_mock.post(
        UPLOAD_URL,
        [
            {"exc": requests.exceptions.ReadTimeout("lost")},
            {"json": {"uploaded_files": ["a.txt"], "uploaded_directories": []}},
        ],
    )
    assert upload_op(files=[str(tmp_path / "a.txt")]).execute(make_context()) == ["a.txt"]
    assert post.call_count == 2


def test_upload_refuses_a_malformed_file_spec(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "CONFIGURATION")
    with pytest.raises(
        AirflowFailException,
        match=r"Each file must be a path, a URL or an ObjectStoragePath, or \(that, name\), not \['a', 'b', 'c'\]",
    ):
        upload_op(files=[["a", "b", "c"]]).execute(make_context())


# --- DownloadFileOperator -------------------------------------------------------------------------------


def download_op(file: str, destination: Any, **kwargs: Any) -> DownloadFileOperator:
    return std_log(DownloadFileOperator(task_id="d", file=file, destination=destination, **IDS, **kwargs))


def test_download_a_file_into_an_existing_folder(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    result = download_op("out/result.txt", str(tmp_path)).execute(make_context())
    assert result == [str(tmp_path / "result.txt")]
    assert (tmp_path / "result.txt").read_bytes() == b"result"
    assert files_under(tmp_path) == ["result.txt"]


def test_download_into_a_new_folder_given_with_a_trailing_slash(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    result = download_op("top.txt", f"{tmp_path}/new/").execute(make_context())
    assert result == [str(tmp_path / "new" / "top.txt")]
    assert (tmp_path / "new" / "top.txt").read_bytes() == b"top"


def test_download_to_an_explicit_file_path(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    target = tmp_path / "deep" / "renamed.bin"
    assert download_op("/out/result.txt", str(target)).execute(make_context()) == [str(target)]
    assert target.read_bytes() == b"result"


def test_download_to_a_file_url(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    result = download_op("top.txt", f"file://{tmp_path}/").execute(make_context())
    assert result == [str(tmp_path / "top.txt")]
    assert (tmp_path / "top.txt").read_bytes() == b"top"


def test_existing_target_needs_overwrite(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    (tmp_path / "top.txt").write_bytes(b"mine")
    with pytest.raises(PsevenConfigError, match="already exists; pass overwrite=True"):
        download_op("top.txt", str(tmp_path)).execute(make_context())
    assert (tmp_path / "top.txt").read_bytes() == b"mine"
    assert sent(requests_mock, "GET", f"{RUN_URL}download/") == []
    download_op("top.txt", str(tmp_path), overwrite=True).execute(make_context())
    assert (tmp_path / "top.txt").read_bytes() == b"top"


def test_download_a_directory_recursively(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    result = download_op("out", str(tmp_path)).execute(make_context())
    assert sorted(result) == [str(tmp_path / "out" / "result.txt"), str(tmp_path / "out" / "sub" / "b.txt")]
    assert files_under(tmp_path) == ["out/result.txt", "out/sub/b.txt"]
    assert (tmp_path / "out" / "sub" / "b.txt").read_bytes() == b"bee"


def test_download_a_directory_to_a_new_folder(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    download_op("out/", str(tmp_path / "copy")).execute(make_context())
    assert files_under(tmp_path) == ["copy/result.txt", "copy/sub/b.txt"]


@pytest.mark.parametrize("bad", ["../etc/passwd", "out/../../x", "", "  "])
def test_download_refuses_paths_outside_the_run(
    requests_mock: requests_mock.Mocker, tmp_path: Path, bad: str
) -> None:
    with pytest.raises(AirflowFailException, match="file must be a path inside the run directory"):
        download_op(bad, str(tmp_path)).execute(make_context())
    assert requests_mock.request_history == []


@pytest.mark.parametrize("evil", ["../evil.txt", "a/../../evil.txt", "..", "sub/evil.txt", "back\\evil.txt"])
def test_unsafe_names_from_the_server_are_refused(
    requests_mock: requests_mock.Mocker, tmp_path: Path, evil: str
) -> None:
    listing = {
        "": [{"name": "out", "size": 0, "is_dir": True}],
        "out": [{"name": "ok.txt", "size": 2, "is_dir": False}, {"name": evil, "size": 4, "is_dir": False}],
    }
    FakeRun(requests_mock, "FINISHED", listing=listing, files={"out/ok.txt": b"ok", f"out/{evil}": b"evil"})
    destination = tmp_path / "dest"
    destination.mkdir()
    with pytest.raises(AirflowFailException, match="unsafe file name"):
        download_op("out", str(destination)).execute(make_context())
    assert all(p == destination or destination in p.parents for p in tmp_path.rglob("*"))
    assert not any(p.read_bytes() == b"evil" for p in tmp_path.rglob("*") if p.is_file())
    assert not [r for r in requests_mock.request_history if "evil" in r.url]


def test_a_broken_download_leaves_no_part_file(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    broken_download(requests_mock, f"{RUN_URL}download/", b"half of it")
    with pytest.raises(PsevenTransportError, match="the answer broke off"):
        download_op("top.txt", str(tmp_path)).execute(make_context())
    assert list(tmp_path.iterdir()) == []
    assert len(sent(requests_mock, "GET", f"{RUN_URL}download/")) == 8  # SAFE GET: retried, then gave up


def test_a_missing_remote_file_leaves_nothing(requests_mock: requests_mock.Mocker, tmp_path: Path) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    with pytest.raises(PsevenNotFoundError, match="HTTP 404"):
        download_op("nope.txt", str(tmp_path)).execute(make_context())
    assert list(tmp_path.iterdir()) == []


# --- ListFilesOperator ---------------------------------------------------------------------------------------


def test_list_the_run_directory(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    entries = std_log(ListFilesOperator(task_id="l", **IDS)).execute(make_context())
    run_dir = "pseven://p7.test/Users/1/ToyWorkflow.p7wf/@Runs/run-1.p7run"
    assert entries == [
        {"path": "out", "name": "out", "size": 0, "is_dir": True, "modified": None, "url": f"{run_dir}/out"},
        {
            "path": "top.txt",
            "name": "top.txt",
            "size": 3,
            "is_dir": False,
            "modified": "2026-01-01T00:00:00+00:00",
            "url": f"{run_dir}/top.txt",
        },
    ]


def test_list_a_folder_recursively(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    entries = std_log(ListFilesOperator(task_id="l", directory="/out/", recursive=True, **IDS)).execute(
        make_context()
    )
    assert [(e["path"], e["is_dir"]) for e in entries] == [
        ("out/result.txt", False),
        ("out/sub", True),
        ("out/sub/b.txt", False),
    ]
    directories = [r.qs.get("directory") for r in sent(requests_mock, "GET", f"{RUN_URL}ls/")]
    assert directories == [["out"], ["out/sub"]]


def test_list_a_folder_not_recursively(requests_mock: requests_mock.Mocker) -> None:
    FakeRun(requests_mock, "FINISHED", files=FILES)
    entries = std_log(ListFilesOperator(task_id="l", directory="out", **IDS)).execute(make_context())
    assert [e["path"] for e in entries] == ["out/result.txt", "out/sub"]


# --- bounded recursive downloads ----------------------------------------------------------------------


def _listing_that_repeats_itself(requests_mock: requests_mock.Mocker) -> list[str]:
    """Every folder lists one folder ``a``: the listing never ends."""
    FakeRun(requests_mock, "FINISHED")
    asked: list[str] = []

    def ls(request: Any, context: Any) -> dict[str, Any]:
        asked.append(request.qs.get("directory", [""])[0])
        return {"entries": [{"name": "a", "size": 0, "is_dir": True}]}

    requests_mock.get(f"{RUN_URL}ls/", json=ls)
    return asked


def test_a_listing_that_repeats_itself_stops_at_the_depth_limit(
    requests_mock: requests_mock.Mocker, tmp_path: Path
) -> None:
    asked = _listing_that_repeats_itself(requests_mock)
    destination = tmp_path / "dest"
    destination.mkdir()
    with pytest.raises(AirflowFailException, match=r"nested deeper than 64.*max_depth"):
        download_op("a", str(destination)).execute(make_context())
    assert len(asked) <= 66
    assert not list(destination.rglob("*"))  # nothing is written before the tree is known


def test_a_listing_over_the_entry_or_byte_limit_fails_with_the_knob_to_raise(
    requests_mock: requests_mock.Mocker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider_pseven.client.run_files import TreeLimits
    from airflow_provider_pseven.operators import files

    listing = {"": [{"name": "out", "size": 0, "is_dir": True}]}
    listing["out"] = [{"name": f"f{i}.txt", "size": 10, "is_dir": False} for i in range(5)]
    FakeRun(requests_mock, "FINISHED", listing=listing)
    monkeypatch.setattr(files, "TREE_LIMITS", TreeLimits(max_entries=3))
    with pytest.raises(AirflowFailException, match=r"more than 3 entries.*max_entries"):
        download_op("out", str(tmp_path)).execute(make_context())
    monkeypatch.setattr(files, "TREE_LIMITS", TreeLimits(max_bytes=25))
    with pytest.raises(AirflowFailException, match=r"more than 25 bytes.*max_bytes"):
        download_op("out", str(tmp_path)).execute(make_context())


@pytest.mark.parametrize("evil", ["line\nbreak.txt", "esc\x1b[31m.txt", "nul\x00.txt", "del\x7f", " "])
def test_names_with_control_characters_are_refused_escaped(
    requests_mock: requests_mock.Mocker, tmp_path: Path, evil: str
) -> None:
    listing = {
        "": [{"name": "out", "size": 0, "is_dir": True}],
        "out": [{"name": evil, "size": 4, "is_dir": False}],
    }
    FakeRun(requests_mock, "FINISHED", listing=listing, files={f"out/{evil}": b"evil"})
    with pytest.raises(AirflowFailException, match="unsafe file name") as info:
        download_op("out", str(tmp_path)).execute(make_context())
    assert not any(ch in str(info.value) for ch in "\n\x1b\x00\x7f")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
