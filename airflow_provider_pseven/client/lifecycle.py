"""The rules of a run's lifecycle that must hold across lost answers, retries and clears.

Written once as operations (generators of calls and sleeps), so operators run them on the sync
client and triggers on the async one:

- :func:`deploy_or_adopt`: deploy a run once per task instance. A retry adopts the run its
  earlier try deployed, but only while that run is still live; a run that ended, or a record
  that a successful try forgot, means a fresh run. A lost deploy answer never leaves two runs and
  never adopts a run somebody else made (the guide says nothing about run names being unique, so
  no rule rests on that).
- :func:`start_once`: start a run unless it already started, also after a lost answer.
- :func:`interrupt_if_running`: the guide lets a client interrupt only a RUNNING run, so a run
  still QUEUED_TO_RUN is watched (for a bounded number of polls) until it runs, then interrupted.
- :func:`teardown`: interrupt if running, wait until deletable, delete, wait for 404.

Bounds are counts of polls at a given interval, so these operations read no clock themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_pseven.client.calls import Op, Sleep
from airflow_provider_pseven.client.errors import (
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenNotFoundError,
    PsevenRequestMayHaveSucceeded,
    PsevenRunStateError,
    PsevenStateError,
    PsevenWaitTimeout,
)
from airflow_provider_pseven.client.models import Run, RunKind, RunState
from airflow_provider_pseven.client.operations import (
    delete_run,
    deploy_run,
    get_run,
    get_run_summary,
    interrupt_run,
    list_runs,
    start_run,
)
from airflow_provider_pseven.client.refs import RunRef
from airflow_provider_pseven.client.text import client_logger

log = client_logger()

#: Run states a client can still do something with: the run has not ended.
LIVE = frozenset(
    {RunState.QUEUED_TO_INITIALIZE, RunState.CONFIGURATION, RunState.QUEUED_TO_RUN, RunState.RUNNING}
)


class RunMemory(Protocol):
    """Where a task remembers the run it deployed, across its tries (Airflow's task state store)."""

    def get(self) -> dict[str, Any] | None: ...

    def set(self, record: dict[str, Any]) -> None: ...

    def forget(self) -> None: ...


class NoMemory:
    """A memory that keeps nothing: every try deploys anew (Airflow without a task state store)."""

    def get(self) -> dict[str, Any] | None:
        return None

    def set(self, record: dict[str, Any]) -> None:
        return None

    def forget(self) -> None:
        return None


@dataclass(frozen=True)
class DeploySpec:
    """What to deploy. ``own_name`` says the name carries a token only this task instance uses."""

    kind: RunKind
    parent_id: str
    name: str
    own_name: bool
    path: str | None = None
    personal: bool = False
    #: After a lost answer, how long to watch the server before deciding the request did not land.
    settle_polls: int = 10
    settle_interval: float = 0.5
    attempts: int = 5

    def ref(self, run_id: str) -> RunRef:
        return RunRef(self.kind, self.parent_id, run_id)


@dataclass
class Deployed:
    """The run deploy_or_adopt settled on, and whether an earlier try had deployed it."""

    run: Run
    adopted: bool
    notes: list[str] = field(default_factory=list)


def settle_polls(seconds: float, interval: float) -> int:
    return max(1, math.ceil(seconds / interval))


def _named(spec: DeploySpec, runs: list[Run], preexisting: frozenset[str]) -> list[Run]:
    return [run for run in runs if run.name == spec.name and run.id not in preexisting]


def _ours(spec: DeploySpec, preexisting: frozenset[str]) -> Op[list[Run]]:
    """Runs under the spec's name that were not there before this task deployed."""
    runs = yield from list_runs(spec.kind, spec.parent_id)
    return _named(spec, runs, preexisting)


def deploy_or_adopt(spec: DeploySpec, memory: RunMemory) -> Op[Deployed]:
    """The live run an earlier try of this task deployed, or a new one (see the module docstring)."""
    adopted = yield from _adopt(spec, memory)
    if adopted is not None:
        return adopted
    preexisting: frozenset[str] = frozenset()
    if not spec.own_name:
        preexisting = frozenset(
            run.id for run in (yield from list_runs(spec.kind, spec.parent_id)) if run.name == spec.name
        )
    memory.set(
        {"parent_id": spec.parent_id, "name": spec.name, "run_id": None, "preexisting": sorted(preexisting)}
    )
    run = yield from _deploy(spec, preexisting)
    memory.set({"parent_id": spec.parent_id, "name": spec.name, "run_id": run.id})
    return Deployed(run, adopted=False)


def _adopt(spec: DeploySpec, memory: RunMemory) -> Op[Deployed | None]:
    record = memory.get()
    if not isinstance(record, dict) or record.get("parent_id") != spec.parent_id:
        return None
    run: Run | None = None
    if record.get("run_id"):
        try:
            run = yield from get_run(spec.ref(str(record["run_id"])))
        except PsevenNotFoundError:
            log.info("The run an earlier try deployed (%s) is gone; deploying a new one", record["run_id"])
            return None
    elif record.get("name"):
        # The earlier try lost its deploy answer (or died right after sending it).
        earlier = DeploySpec(spec.kind, spec.parent_id, str(record["name"]), own_name=True)
        found = yield from _ours(earlier, frozenset(record.get("preexisting") or ()))
        run = found[0] if len(found) == 1 else None
    if run is None:
        return None
    if run.state not in LIVE:
        log.info("The run an earlier try deployed (%s) is %s; deploying a new one", run.id, run.state_text)
        return None
    memory.set({"parent_id": spec.parent_id, "name": run.name, "run_id": run.id})
    log.info("Reusing run %s (%s), deployed by an earlier try; it is %s", run.id, run.name, run.state_text)
    return Deployed(run, adopted=True)


def _deploy(spec: DeploySpec, preexisting: frozenset[str]) -> Op[Run]:
    """Deploy, surviving lost answers with exactly one run in the end.

    After a lost answer the server is watched a while, so a request it is still carrying out is not
    raced; if the run appears, it is ours (its name is ours and it was not there before). If it does
    not, the deploy is sent again. Should the lost request land after all, the extra run is deleted.
    """
    lost = False
    for attempt in range(1, spec.attempts + 1):
        try:
            run = yield from deploy_run(
                spec.kind,
                spec.parent_id,
                name=spec.name,
                path=spec.path,
                personal=True if spec.personal else None,
            )
        except PsevenBadRequestError as refused:
            # A server that refuses duplicate names says so with a 400: after a lost answer that
            # means our earlier request landed; before any, the name belongs to somebody else.
            if not lost:
                if preexisting:
                    raise PsevenConfigError(
                        f"A run named {spec.name!r} already exists and the server refuses a second one "
                        f"(HTTP {refused.status}: {refused.detail}); give a run_name that is not in use, "
                        "or delete that run"
                    ) from None
                raise
            found = yield from _ours(spec, preexisting)
            if not found:
                raise
            log.info("The server already had run %r: an earlier deploy request landed", spec.name)
            run = found[0]
        except PsevenRequestMayHaveSucceeded:
            lost = True
            log.warning("The deploy request lost its answer; looking for the run it may have created")
            found = yield from _watch(
                lambda: _ours(spec, preexisting), bool, spec.settle_polls, spec.settle_interval
            )
            if found:
                return (yield from _keep_one(spec, found[0], preexisting))
            if attempt == spec.attempts:
                raise
            log.warning("No run named %r appeared; deploying it again under the same name", spec.name)
            continue
        if lost:
            return (yield from _keep_one(spec, run, preexisting))
        return run
    raise AssertionError("unreachable")


def _keep_one(spec: DeploySpec, keep: Run, preexisting: frozenset[str]) -> Op[Run]:
    """After lost answers, delete any other run this deploy made, so exactly one is left."""
    for extra in (yield from _ours(spec, preexisting)):
        if extra.id != keep.id:
            log.warning(
                "Deleting run %s: a lost deploy request landed after all, making a second run", extra.id
            )
            yield from teardown(spec.ref(extra.id))
    return keep


def _watch(look: Callable[[], Op[Any]], done: Callable[[Any], bool], polls: int, interval: float) -> Op[Any]:
    """After a lost answer: look again every ``interval`` until ``done`` or ``polls`` looks were taken."""
    seen = None
    for poll in range(polls):
        seen = yield from look()
        if done(seen):
            return seen
        if poll + 1 < polls:
            yield Sleep(interval)
    return seen


def _left_configuration(state: RunState) -> bool:
    return state is not RunState.CONFIGURATION


def _summary_state(ref: RunRef) -> Op[RunState]:
    return (yield from get_run_summary(ref)).state


def _while_in(ref: RunRef, state: RunState, polls: int, interval: float, why: str) -> Op[tuple[Run, int]]:
    """Read the run, and again every ``interval`` while it stays in ``state`` (``polls`` at most).

    Returns the run as last read and how many pauses it took.
    """
    run = yield from get_run_summary(ref)
    taken = 0
    while run.state is state and taken < polls:
        if taken == 0:
            log.info("Run %s is %s; %s", ref.run_id, state.value, why)
        yield Sleep(interval)
        run = yield from get_run_summary(ref)
        taken += 1
    return run, taken


def start_once(
    ref: RunRef,
    *,
    settle: int = 10,
    interval: float = 0.5,
    init_polls: int = 3600,
    init_interval: float = 1.0,
    configured: Run | None = None,
) -> Op[bool]:
    """Start a CONFIGURATION run; True if this call started it, False if it had started already.

    A run still QUEUED_TO_INITIALIZE is waited for (at most ``init_polls`` polls). Never starts a
    run twice: after a lost answer, the run is watched (``settle`` polls) before the start is sent
    again, and a refusal then is checked against the run's state. ``configured``: the run as this
    caller just read it in CONFIGURATION (a PATCH answer), which saves reading it again; any other
    run state is read afresh.
    """
    if configured is not None and configured.state is RunState.CONFIGURATION:
        run = configured
    else:
        run, _ = yield from _while_in(
            ref, RunState.QUEUED_TO_INITIALIZE, init_polls, init_interval, "waiting for CONFIGURATION"
        )
    if run.state.has_started:
        log.info("Run %s is already %s: not starting it again", ref.run_id, run.state_text)
        return False
    if run.state is not RunState.CONFIGURATION:
        raise PsevenRunStateError(
            ref.run_id,
            run.state_text,
            f"Run {ref.run_id} is {run.state_text}; only a CONFIGURATION run can start",
        )
    try:
        yield from start_run(ref)
    except PsevenRequestMayHaveSucceeded:
        log.warning("The start request lost its answer; watching the run before deciding to resend it")
        state = yield from _watch(lambda: _summary_state(ref), _left_configuration, settle, interval)
        if state is not None and _left_configuration(state):
            log.info("The lost start request did start the run: it is %s", state.value)
            return True
        log.warning("The run is still CONFIGURATION well after the lost start request; starting it")
        try:
            yield from start_run(ref)
        except PsevenStateError:
            # The run's state, read after the refusal, is no longer CONFIGURATION: the lost request
            # reached the server after all, between our last look and now.
            if not (yield from get_run(ref)).state.has_started:
                raise
    log.info("Started run %s", ref.run_id)
    return True


@dataclass(frozen=True)
class Stopped:
    """What :func:`stop_run` did: the run as last read, whether an interrupt was sent, and how
    long the run was watched in the queue."""

    run: Run
    interrupted: bool
    waited: float

    @property
    def left_queued(self) -> bool:
        """Still QUEUED_TO_RUN, where the guide allows neither interrupt nor delete."""
        return not self.interrupted and self.run.state is RunState.QUEUED_TO_RUN


def stop_run(ref: RunRef, *, queued_polls: int = 60, interval: float = 1.0) -> Op[Stopped]:
    """Interrupt the run if it is running (see :func:`interrupt_if_running`), saying what it did.

    A run still QUEUED_TO_RUN after ``queued_polls`` polls is left as it is (``left_queued``): the
    caller decides who watches it from then on (client/waiting.py ``interrupt_once_running``).
    """
    run, polls = yield from _while_in(
        ref, RunState.QUEUED_TO_RUN, queued_polls, interval, "waiting for it to run so it can be interrupted"
    )
    waited = polls * interval
    if run.state is not RunState.RUNNING:
        return Stopped(run, interrupted=False, waited=waited)
    try:
        yield from interrupt_run(ref)
    except PsevenStateError:  # read after the refusal, it was no longer RUNNING: it ended meanwhile
        return Stopped(run, interrupted=False, waited=waited)
    if polls:
        log.info("Run %s started running after %.0f s in the queue and was interrupted", ref.run_id, waited)
    return Stopped(run, interrupted=True, waited=waited)


def interrupt_if_running(ref: RunRef, *, queued_polls: int = 60, interval: float = 1.0) -> Op[bool]:
    """Interrupt the run if it is running; True when an interrupt was sent.

    The guide: "Run state must be RUNNING". A run QUEUED_TO_RUN is watched until it runs (at most
    ``queued_polls`` polls) and interrupted then; one that ends meanwhile needs no interrupt.
    """
    stopped = yield from stop_run(ref, queued_polls=queued_polls, interval=interval)
    if stopped.left_queued:
        log.warning(
            "Run %s (%s) is still QUEUED_TO_RUN after %.0f s; the API interrupts only RUNNING runs, so "
            "it was left queued",
            ref.run_id,
            stopped.run.url,
            stopped.waited,
        )
    return stopped.interrupted


def teardown(ref: RunRef, *, polls: int = 300, interval: float = 1.0) -> Op[bool]:
    """Interrupt the run if it runs, wait until it may be deleted, delete it and wait for 404.

    False when the run was already gone. Each wait takes at most ``polls`` polls.
    """
    try:
        run = yield from get_run_summary(ref)
    except PsevenNotFoundError:
        return False
    if run.state in (RunState.QUEUED_TO_RUN, RunState.RUNNING):
        yield from interrupt_if_running(ref, queued_polls=polls, interval=interval)
        try:
            run = yield from get_run_summary(ref)
        except PsevenNotFoundError:
            return False
    for _ in range(polls):
        if run.state.is_deletable:
            break
        yield Sleep(interval)
        try:
            run = yield from get_run_summary(ref)
        except PsevenNotFoundError:
            return False
    else:
        queued = " and will run unwatched unless interrupted once it runs" if run.state.is_active else ""
        raise PsevenWaitTimeout(
            f"Run {ref.run_id} ({run.url}) is still {run.state_text} after {polls * interval:.0f} s, so it "
            f"cannot be deleted: it is left{queued}"
        )
    return (yield from delete_run(ref, polls=polls, interval=interval))


__all__ = [
    "LIVE",
    "DeploySpec",
    "Deployed",
    "NoMemory",
    "RunMemory",
    "Stopped",
    "deploy_or_adopt",
    "interrupt_if_running",
    "settle_polls",
    "start_once",
    "stop_run",
    "teardown",
]
