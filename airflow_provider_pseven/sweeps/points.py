"""One point of a sweep as a client operation: its runs, from deploy to results, retried as new runs.

Written once as an operation (calls and sleeps), like every other rule of the client: the sweep
trigger runs many at once on the async client, whose shared list polls answer all their waits
together (client/watches.py). The lifecycle rules are the client's own: a run is deployed once under
its name, even after a lost answer (``deploy_or_adopt``), and started once (``start_once``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pseven.client.calls import Op, clock
from airflow_provider_pseven.client.errors import PsevenError
from airflow_provider_pseven.client.lifecycle import (
    LIVE,
    DeploySpec,
    NoMemory,
    deploy_or_adopt,
    start_once,
    stop_run,
    teardown,
)
from airflow_provider_pseven.client.models import Run, RunKind, RunState
from airflow_provider_pseven.client.operations import RunRef, delete_run, get_results, get_run, list_runs
from airflow_provider_pseven.client.parameters import set_parameters
from airflow_provider_pseven.client.run_files import run_log_tail
from airflow_provider_pseven.client.text import client_logger
from airflow_provider_pseven.client.waiting import wait_for_run
from airflow_provider_pseven.sweeps.policy import next_attempt, parse_run_name, run_name

log = client_logger()

#: Lines of a failed run's log read for its failure reason.
TAIL_LINES = 50


@dataclass(frozen=True)
class Sweep:
    """What every point of one sweep shares."""

    kind: RunKind
    parent_id: str
    prefix: str
    max_attempts: int
    deadline: float | None
    interval: float
    lag_timeout: float = 30.0
    settle_polls: int = 10
    #: Called with each value sent to a parameter that may be a Secret, before the PATCH, so the
    #: application can mask it (Airflow's secret masker) before any log line or error could show it.
    mask: Callable[[Any], None] | None = None

    def ref(self, run_id: str) -> RunRef:
        return RunRef(self.kind, self.parent_id, run_id)


@dataclass
class PointEnd:
    """How a point ended: its results-table row, every run it used, and the last run's log tail."""

    row: dict[str, Any]
    runs: list[tuple[RunRef, str]] = field(default_factory=list)  # (run, state it ended in)
    log_tail: str = ""

    @property
    def state(self) -> str:
        return str(self.row["state"])


def sweep_runs(sweep: Sweep) -> Op[dict[int, dict[int, Run]]]:
    """The sweep's runs on the server, ``{point: {attempt: run}}``, found by their names."""
    runs = yield from list_runs(sweep.kind, sweep.parent_id)
    found: dict[int, dict[int, Run]] = {}
    for run in runs:
        named = parse_run_name(sweep.prefix, run.name)
        if named is not None:
            found.setdefault(named[0], {})[named[1]] = run
    return found


Check = Callable[[Run], None]


def _configure(sweep: Sweep, ref: RunRef, values: Mapping[str, Any], check: Check | None) -> Op[list[str]]:
    """Set the point's parameters and start the run; returns the names found to be Secrets.

    ``check`` sees the run's details first (the sweep checks its columns against the first run's
    parameters); if it raises, the run is deleted before the error goes on: nothing is left behind.
    """
    if check is not None:
        details = yield from get_run(ref)
        try:
            check(details)
        except Exception:
            yield from teardown(ref, polls=60, interval=sweep.interval)
            raise
    secrets: list[str] = []
    applied: Run | None = None
    given = {name: value for name, value in values.items() if value is not None}
    if given:
        applied = yield from set_parameters(ref, given, sweep.mask)
        secrets = [name for p in applied.parameters if p.is_secret for name in (p.name, p.id)]
    # The PATCH answer shows the run in CONFIGURATION: no need to read it again before the start.
    yield from start_once(
        ref, settle=sweep.settle_polls, interval=0.5, init_interval=sweep.interval, configured=applied
    )
    return secrets


def _attempt(
    sweep: Sweep, run: Run, values: Mapping[str, Any], check: Check | None
) -> Op[tuple[Run, str, list[str]]]:
    """Drive one run to its end (or the deadline): ``(run as last read, how it ended, secrets)``."""
    ref = sweep.ref(run.id)
    secrets: list[str] = []
    state = run.state
    if state is RunState.QUEUED_TO_INITIALIZE:
        # Known state: even the first look is a shared watch, not a GET of its own.
        ready = yield from wait_for_run(
            ref, [RunState.CONFIGURATION], deadline=sweep.deadline, interval=sweep.interval, known=state
        )
        if ready.status != "success":
            return run, ready.state or "UNKNOWN", secrets
        state = RunState.CONFIGURATION
    known: RunState | None = None  # an adopted run may have moved on since it was listed
    if state is RunState.CONFIGURATION:
        secrets = yield from _configure(sweep, ref, values, check)
        known = RunState.QUEUED_TO_RUN  # where a start leaves a run (the guide)
    ended = yield from wait_for_run(
        ref, [RunState.FINISHED], deadline=sweep.deadline, interval=sweep.interval, known=known
    )
    if ended.status == "timeout":
        return run, "TIMEOUT", secrets
    if ended.status == "success":
        return (yield from get_results(ref, lag_timeout=sweep.lag_timeout)), "FINISHED", secrets
    return run, ended.state, secrets


def run_point(
    sweep: Sweep,
    point: int,
    values: Mapping[str, Any],
    found: Mapping[int, Run] | None = None,
    check: Check | None = None,
) -> Op[PointEnd]:
    """Run one point: adopt the attempt already on the server, or deploy the next; retry a FAILED
    or INTERRUPTED run as a new run while attempts remain. ``found`` is ``{attempt: run}`` as the
    sweep found them on the server (a restarted sweep)."""
    started = yield from clock()
    found = dict(found or {})
    plan = next_attempt({a: r.state_text for a, r in found.items()}, sweep.max_attempts)
    attempt = plan.attempt
    runs: list[tuple[RunRef, str]] = [
        (sweep.ref(r.id), r.state_text) for a, r in found.items() if a < attempt
    ]
    current: Run | None = None if plan.deploy else found[attempt]
    while True:
        name = run_name(sweep.prefix, point, attempt)
        if current is None:
            spec = DeploySpec(
                sweep.kind, sweep.parent_id, name, own_name=True, settle_polls=sweep.settle_polls
            )
            current = (yield from deploy_or_adopt(spec, NoMemory())).run
            log.info("Point %d: deployed run %s (%s)", point, current.id, name)
        elif attempt == plan.attempt and not plan.deploy:
            log.info("Point %d: adopting run %s (%s), %s", point, current.id, name, current.state_text)
        run, state, secrets = yield from _attempt(sweep, current, values, check)
        secrets += [name for p in run.parameters if p.is_secret for name in (p.name, p.id)]
        ref = sweep.ref(run.id)
        runs.append((ref, state))
        tail = ""
        if state not in ("FINISHED", "TIMEOUT"):
            tail = (yield from run_log_tail(ref, TAIL_LINES)).text
            if attempt < sweep.max_attempts:
                log.warning("Point %d: run %s ended %s; retrying it as a new run", point, run.id, state)
                attempt, current, check = attempt + 1, None, None
                continue
        ended = yield from clock()
        shown = {k: ("" if k in secrets else v) for k, v in values.items()}
        row = {
            "point": point,
            "state": state,
            "attempts": attempt,
            "run_id": run.id,
            "run_name": name,
            "duration_s": round(ended - started, 3),
            "failure_reason": "",
            "parameters": shown,
            "results": run.result_values() if state == "FINISHED" else {},
        }
        return PointEnd(row, runs, tail)


def stop_live(sweep: Sweep, run: Run) -> Op[str | None]:
    """Stop one of the sweep's runs if it is live, saying what was done (None: it had ended).

    A RUNNING run is interrupted; a CONFIGURATION run, which never started, is deleted; a queued
    one, which the API can neither interrupt nor delete, is named as left queued (never waited for:
    a killed task has seconds, and a sweep may have many such runs).
    """
    if run.state not in LIVE:
        return None
    ref = sweep.ref(run.id)
    if run.state is RunState.CONFIGURATION:
        yield from delete_run(ref, wait=False)
        return f"{run.name} ({run.id}): deleted before it started"
    stopped = yield from stop_run(ref, queued_polls=0)
    if stopped.interrupted:
        return f"{run.name} ({run.id}): interrupted"
    if stopped.left_queued or stopped.run.state in LIVE:
        return f"{run.name} ({run.id}, {stopped.run.url}): left {stopped.run.state_text}, which the API cannot stop"
    return f"{run.name} ({run.id}): already {stopped.run.state_text}"


def stop_all(sweep: Sweep) -> Op[list[str]]:
    """Stop every live run of the sweep, found by name (see :func:`stop_live`); what was done, run
    by run. One operation for the trigger's ``on_kill``, its timeout and the operator's ``on_kill``."""
    found = yield from sweep_runs(sweep)
    lines = []
    for attempts in found.values():
        for run in attempts.values():
            try:
                what = yield from stop_live(sweep, run)
            except PsevenError as error:
                what = f"{run.name} ({run.id}): could not stop it: {error}"
            if what is not None:
                lines.append(what)
    return lines
