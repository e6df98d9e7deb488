"""Malformed or hostile bodies become the client's own PsevenBadAnswerError, with the status and a
short escaped excerpt, in both drivers; the client's log lines escape server-given control characters."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from pseven_client_harness import PSEVEN, RUN_ID, RUN_URL, WF_ID, Api, Resp, ok, run_json

from airflow_provider_pseven.client import PsevenBadAnswerError, PsevenError, RunRef
from airflow_provider_pseven.client.text import client_logger, escape

REF = RunRef.workflow(WF_ID, RUN_ID)


def nested(depth: int) -> Resp:
    return Resp(body=b"[" * depth + b"]" * depth, headers={"Content-Type": "application/json"})


async def test_deeply_nested_json_is_a_bad_answer_not_a_recursion_error(api: Api) -> None:
    api.route("GET", RUN_URL, nested(100_000))
    with pytest.raises(PsevenBadAnswerError, match="nested too deeply") as info:
        await api.call("get_run", REF)
    assert info.value.status == 200
    assert info.value.excerpt.startswith("'[[[[")


async def test_a_file_size_that_is_no_number_is_a_bad_answer(api: Api) -> None:
    api.route("GET", f"{RUN_URL}ls/", ok({"entries": [{"name": "a.txt", "size": "12kB", "is_dir": False}]}))
    with pytest.raises(PsevenBadAnswerError, match=r"ls/ answered HTTP 200.*12kB") as info:
        await api.call("list_files", REF)
    assert "ValueError" in info.value.reason


@pytest.mark.parametrize("field", ["parameters", "results"])
async def test_parameters_that_are_no_list_are_a_bad_answer(api: Api, field: str) -> None:
    api.route("GET", RUN_URL, ok(run_json("FINISHED", **{field: 5})))
    with pytest.raises(PsevenBadAnswerError, match=f"'{field}' is int, not a list"):
        await api.call("get_run", REF)


async def test_an_upload_answer_of_the_wrong_shape_is_a_bad_answer(api: Api, tmp_path: Path) -> None:
    local = tmp_path / "a.txt"
    local.write_bytes(b"a")
    api.route("POST", f"{RUN_URL}upload/", ok({"uploaded_files": "/run/a.txt"}))
    with pytest.raises(PsevenBadAnswerError, match="uploaded_files"):
        await api.call("upload", REF, [local])


async def test_a_list_of_the_wrong_item_types_is_a_bad_answer(api: Api) -> None:
    api.route("GET", f"{PSEVEN}workflows/{WF_ID}/runs/", ok([{"id": RUN_ID, "parameters": {"a": 1}}]))
    with pytest.raises(PsevenBadAnswerError):
        await api.call("list_runs", REF.kind, WF_ID)


def test_the_error_pickles_and_is_a_client_error() -> None:
    error = PsevenBadAnswerError("GET", "runs/", 200, "reason", "'x'")
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, PsevenError) and str(again) == str(error)


def test_client_log_lines_escape_control_characters(caplog: pytest.LogCaptureFixture) -> None:
    log = client_logger()
    with caplog.at_level(logging.INFO, "airflow_provider_pseven.client"):
        log.info("Run %s polled %d times", "evil\nFAKE LINE \x1b[2J", 3)
    assert caplog.records[-1].getMessage() == "Run evil\\nFAKE LINE \\x1b[2J polled 3 times"


def test_client_log_lines_escape_exceptions_quoting_the_server(caplog: pytest.LogCaptureFixture) -> None:
    log = client_logger()
    with caplog.at_level(logging.INFO, "airflow_provider_pseven.client"):
        log.warning("could not read it (%s)", ValueError("Sign in\n\x1b[31m"))
    assert caplog.records[-1].getMessage() == "could not read it (Sign in\\n\\x1b[31m)"


def test_escape_keeps_ordinary_text() -> None:
    assert escape("ünïcode ok") == "ünïcode ok"
    assert escape("a\tb\x00") == "a\\tb\\x00"
