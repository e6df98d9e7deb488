"""Refusals a real server may give, over loopback HTTP against the emulator's variants: wrong-state
refusals with any 4xx and any text, a proxy's HTML 413 on a big upload, the run log from
``logfile_url``, and an ``ls/`` listing cut short of its ``count``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pseven.client import (
    ClientConfig,
    PsevenAuthError,
    PsevenBadRequestError,
    PsevenClient,
    PsevenError,
    PsevenHTTPError,
    PsevenNotJsonError,
    PsevenStateError,
    RunKind,
    RunRef,
    RunState,
)
from airflow_provider_pseven.emulator.server import EmulatorServer
from airflow_provider_pseven.emulator.variants import LS_LIMIT, UPLOAD_LIMIT
from airflow_provider_pseven.emulator.workflows import TOY_WORKFLOW_ID

pytestmark = pytest.mark.integration

SLOW = "/Users/1/Slow.p7wf"
FAILING = "/Users/1/Failing.p7wf"


class World:
    """An emulator with some variants, a client on it, and runs brought to a state."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.client = PsevenClient(ClientConfig(host=server.url, token=server.token, api_path=".rest"))

    def run_in(self, state: RunState, workflow: str = TOY_WORKFLOW_ID, **parameters: Any) -> RunRef:
        workflow_id = self.client.resolve_workflow(workflow).id
        run = self.client.deploy_run(RunKind.WORKFLOW, workflow_id, name="refusals")
        ref = RunRef.workflow(workflow_id, run.id)
        self.client.wait_for_run(ref, [RunState.CONFIGURATION], interval=0.01)
        if parameters:
            self.client.set_parameters(ref, parameters)
        if state is not RunState.CONFIGURATION:
            self.client.start_run(ref)
            others = [s for s in (RunState.FAILED, RunState.INTERRUPTED) if s is not state]
            self.client.wait_for_run(ref, [state], others, interval=0.01)
        return ref


@pytest.fixture
def world(pseven_emulator_factory: Callable[..., EmulatorServer]) -> Iterator[Callable[[str], World]]:
    made: list[World] = []

    def make(variants: str) -> World:
        made.append(World(pseven_emulator_factory(variants=variants, time_scale=0.05)))
        return made[-1]

    yield make
    for one in made:
        one.client.close()


@pytest.mark.parametrize("text", ["names_state", "generic"])
@pytest.mark.parametrize("status", [400, 403, 409, 422])
def test_every_wrong_state_refusal_is_known_by_the_runs_state(
    world: Callable[[str], World], tmp_path: Path, status: int, text: str
) -> None:
    w = world(f"guide,wrong_state_status={status},state_refusal_text={text}")
    finished = w.run_in(RunState.FINISHED)
    local = tmp_path / "in.txt"
    local.write_text("1\n")
    refused = {
        "start": lambda: w.client.start_run(finished),
        "interrupt": lambda: w.client.interrupt_run(finished),
        "patch": lambda: w.client.set_parameters(finished, {"MyFirstParameter": "late"}),
        "upload": lambda: w.client.upload(finished, [str(local)]),
        "push": lambda: w.client.message_push(finished, "hi"),
    }
    for what, attempt in refused.items():
        with pytest.raises(PsevenStateError, match=f"run {finished.run_id} is FINISHED") as info:
            attempt()
        assert info.value.status == status, what
        assert not isinstance(info.value, PsevenAuthError), what
    running = w.run_in(RunState.RUNNING, SLOW, duration=600.0)
    with pytest.raises(PsevenStateError, match=f"run {running.run_id} is RUNNING, and this request needs "):
        w.client.delete_run(running, wait=False)
    assert w.client.interrupt_if_running(running) is True  # the run is still there, and stoppable


def test_a_403_state_refusal_does_not_make_teardown_a_credentials_failure(
    world: Callable[[str], World],
) -> None:
    w = world("guide,wrong_state_status=403,state_refusal_text=generic")
    running = w.run_in(RunState.RUNNING, SLOW, duration=600.0)
    assert w.client.teardown(running, interval=0.05) is True
    assert w.server.requests.count(method="DELETE") == 1


def test_a_proxys_html_413_on_a_big_upload_names_status_and_first_line(
    world: Callable[[str], World], tmp_path: Path
) -> None:
    w = world("guide,upload_limit=html_413")
    ref = w.run_in(RunState.CONFIGURATION)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (UPLOAD_LIMIT + 1))
    with pytest.raises(PsevenHTTPError) as info:
        w.client.upload(ref, [str(big)])
    message = str(info.value)
    assert "HTTP 413: 413 Request Entity Too Large" in message
    assert "a proxy, firewall or web server between Airflow and pSeven answered" in message
    assert not isinstance(info.value, (PsevenNotJsonError, PsevenStateError))
    small = tmp_path / "small.txt"
    small.write_text("fits\n")
    assert w.client.upload(ref, [str(small)]).files  # nothing lost: the run takes the next upload
    assert w.client.get_run(ref).state is RunState.CONFIGURATION


@pytest.mark.parametrize("run_log", ["finished_only", "every_end"])
def test_a_failed_runs_log_comes_from_logfile_url_or_the_guides_file(
    world: Callable[[str], World], run_log: str
) -> None:
    w = world(f"guide,run_log={run_log}")
    failed = w.run_in(RunState.FAILED, FAILING)
    details = w.client.get_run(failed)
    tail = w.client.run_log_tail(failed, 20)
    assert "Run failed" in tail.text
    assert tail.guessed is (run_log == "finished_only")
    assert tail.source == (details.logfile_url or ".p7.log.txt")


def test_a_listing_cut_short_of_its_count_fails_clearly(world: Callable[[str], World]) -> None:
    w = world("guide,ls_listing=truncated")
    ref = w.run_in(RunState.CONFIGURATION)
    w.client.upload(ref, directories=[f"many/d{i:04}" for i in range(LS_LIMIT + 1)])
    with pytest.raises(
        PsevenError, match=rf"listed {LS_LIMIT} entries of directory 'many', but its count says"
    ):
        w.client.list_files(ref, "many")
    assert "many" in {entry.name for entry in w.client.list_files(ref)}  # a short listing is whole


@pytest.mark.parametrize("ls_nested", ["path", "root_only"])
def test_a_nested_folder_is_listed_by_its_path_or_refused_clearly(
    world: Callable[[str], World], ls_nested: str
) -> None:
    w = world(f"guide,ls_nested={ls_nested}")
    ref = w.run_in(RunState.CONFIGURATION)
    w.client.upload(ref, directories=["outer/inner/deepest"])
    assert [e.name for e in w.client.list_files(ref, "outer")] == ["inner"]  # a root folder, as the guide
    if ls_nested == "path":
        assert [e.name for e in w.client.list_files(ref, "outer/inner")] == ["deepest"]
        return
    with pytest.raises(PsevenBadRequestError, match="refuses the nested directory 'outer/inner'"):
        w.client.list_files(ref, "outer/inner")
