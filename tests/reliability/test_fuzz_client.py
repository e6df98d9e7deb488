"""Property-based: generated server answers against every endpoint's parsing (client half of the
fuzz suite; see docs/reliability.md, "Fuzzing the client").

The invariant: whatever a server answers, an operation ends with a result or one of the client's own
:class:`PsevenError`; never ``TypeError``, ``ValueError``, ``KeyError`` or ``RecursionError``. Waits
are bounded by the driver's steps (see :func:`fuzz_support.drive`), and downloads write nothing
outside their destination folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests_mock
import respx
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_pseven.client import (
    AppPublication,
    AsyncPsevenClient,
    ClientConfig,
    FileSink,
    PsevenBadAnswerError,
    PsevenClient,
    PsevenError,
    RunKind,
    RunRef,
    RunState,
    TailSink,
    appshub,
    events,
    lifecycle,
    parameters,
    run_files,
    waiting,
)
from airflow_provider_pseven.client import operations as ops
from airflow_provider_pseven.client.calls import Op
from tests.reliability.fuzz_support import APP, FUZZ, RUN, WF, drive, replies

REF = RunRef.workflow(WF, RUN)
APP_REF = RunRef.app(f"{APP}@1", RUN)
WORK = Path(tempfile.mkdtemp(prefix="pseven-fuzz-"))
UPLOAD = WORK / "in.txt"
UPLOAD.write_bytes(b"data")
SPEC = lifecycle.DeploySpec(RunKind.WORKFLOW, WF, "run", own_name=True, settle_polls=2, attempts=2)

#: Every operation of the API, with arguments that make it read what the server answers.
OPERATIONS: dict[str, Callable[[], Op[Any]]] = {
    "login": lambda: ops.login("user", "pw"),
    "detect_api_path": ops.detect_api_path,
    "list_workflows": ops.list_workflows,
    "get_workflow": lambda: ops.get_workflow(WF),
    "resolve_workflow": lambda: ops.resolve_workflow("/Users/1/Toy.p7wf"),
    "resolve_workflow_id": lambda: ops.resolve_workflow(WF),
    "list_apps": appshub.list_apps,
    "get_app": lambda: appshub.get_app(APP, 2),
    "resolve_app": lambda: appshub.resolve_app("App"),
    "publish_app": lambda: appshub.publish_app(
        AppPublication("/Users/1/Toy.p7wf", "App", workspace_name="w")
    ),
    "list_runs": lambda: ops.list_runs(RunKind.WORKFLOW, WF),
    "find_run": lambda: ops.find_run(RunKind.APP, APP, "run"),
    "deploy_run": lambda: ops.deploy_run(RunKind.WORKFLOW, WF, name="run"),
    "deploy_app_run": lambda: ops.deploy_run(RunKind.APP, APP, name="run", personal=True),
    "get_run": lambda: ops.get_run(REF),
    "get_run_summary": lambda: ops.get_run_summary(APP_REF),
    "set_parameters": lambda: parameters.set_parameters(REF, {"x": 2.0}),
    "start_run": lambda: ops.start_run(REF),
    "interrupt_run": lambda: ops.interrupt_run(REF),
    "interrupt_if_running": lambda: lifecycle.interrupt_if_running(REF, queued_polls=3),
    "deploy_or_adopt": lambda: lifecycle.deploy_or_adopt(SPEC, lifecycle.NoMemory()),
    "start_once": lambda: lifecycle.start_once(REF, settle=2, init_polls=3),
    "teardown": lambda: lifecycle.teardown(REF, polls=3),
    "delete_run": lambda: ops.delete_run(REF, polls=3),
    "get_results": lambda: ops.get_results(REF, lag_timeout=2),
    "read_log_tail": lambda: run_files.read_log_tail(REF),
    "list_files": lambda: run_files.list_files(REF, "out"),
    "upload": lambda: run_files.upload(REF, [UPLOAD], directories=["d"]),
    "message_push": lambda: ops.message_push(REF, "hi", "c"),
    "message_pop": lambda: ops.message_pop(REF),
    "wait_for_run": lambda: waiting.wait_for_run(REF, [RunState.FINISHED], deadline=1_000_100.0),
    "wait_for_app": lambda: waiting.wait_for_app(APP, 1, deadline=1_000_100.0),
    "wait_for_message": lambda: waiting.wait_for_message(REF, deadline=1_000_100.0),
    "resolve_parent": lambda: events.resolve_parent(RunKind.APP, "App"),
    "run_end_time": lambda: events.run_end_time(REF, _finished()),
}


def _finished() -> Any:
    from airflow_provider_pseven.client import Run

    return Run.from_json({"id": RUN, "state": "FINISHED"})


@pytest.mark.parametrize("name", sorted(OPERATIONS))
@FUZZ
@given(data=st.data())
def test_any_answer_ends_in_a_result_or_a_client_error(name: str, data: st.DataObject) -> None:
    started = time.monotonic()
    try:
        drive(OPERATIONS[name](), lambda call: data.draw(replies(), label=call.label))
    except PsevenError as error:
        text = str(error)
        assert "\x1b" not in text and "\x00" not in text, text
    assert time.monotonic() - started < 10


@FUZZ
@given(data=st.data())
def test_a_download_writes_nothing_outside_its_destination(data: st.DataObject) -> None:
    destination = Path(tempfile.mkdtemp(dir=WORK))
    target = destination / "out.bin"
    sink = FileSink(target, overwrite=True)
    with contextlib.suppress(PsevenError):
        drive(run_files.download(REF, "out.bin", sink), lambda call: data.draw(replies()))
    written = [p for p in WORK.rglob("*") if p.is_file() and p != UPLOAD]
    assert all(p == target for p in written), written
    for path in written:
        path.unlink()


@FUZZ
@given(data=st.data())
def test_the_log_tail_keeps_a_bounded_number_of_lines(data: st.DataObject) -> None:
    sink = TailSink(5)
    with contextlib.suppress(PsevenError):
        drive(run_files.download(REF, ".p7.log.txt", sink), lambda call: data.draw(replies()))
    assert len(sink.lines) <= 5


def _list_of(size: int) -> bytes:
    """A JSON list of exactly ``size`` bytes (at least 2)."""
    return b"[" + b" " * (size - 2) + b"]"


@FUZZ
@given(size=st.integers(2, 3000), chunked=st.booleans())
def test_the_size_cap_holds_in_both_drivers(size: int, chunked: bool) -> None:
    """Bounded memory: an answer over ``max_body_bytes`` is refused, by its length or while read."""
    config = ClientConfig("https://p7.test", token="t", api_path=".rest", max_body_bytes=1000)
    url = "https://p7.test/pseven/.rest/v2/workflows/"
    headers = {"content-type": "application/json"}
    if not chunked:
        headers["content-length"] = str(size)
    with requests_mock.Mocker() as mock, PsevenClient(config) as client:
        mock.get(url, content=_list_of(size), headers=headers)
        if size > 1000:
            with pytest.raises(PsevenBadAnswerError, match="limit of 1000 bytes"):
                client.list_workflows()
        else:
            assert client.list_workflows() == []

    async def run() -> None:
        async with AsyncPsevenClient(config) as client:
            with respx.mock:
                respx.get(url).mock(return_value=httpx.Response(200, content=_list_of(size), headers=headers))
                if size > 1000:
                    with pytest.raises(PsevenBadAnswerError, match="limit of 1000 bytes"):
                        await client.list_workflows()
                else:
                    assert await client.list_workflows() == []

    asyncio.run(run())
