"""Waiting loops, written once as operations: a trigger runs them on the async client, an operator
that does not defer runs the very same loop on the sync client.

Deadlines are absolute times of the driver's clock (wall-clock seconds since the epoch), so a loop
rebuilt after a triggerer restart keeps the original deadline. The loops read no clock of their
own: they ask the driver (:func:`~airflow_provider_pseven.client.calls.clock`, ``Sleep(until=)``). Transient failures (no answer, 429, 5xx after the client's own
retries) never end a wait: the loop logs them and polls again at the next interval.
"""

from __future__ import annotations

from collections.abc import Collection

from airflow_provider_pseven.client.appshub import get_app
from airflow_provider_pseven.client.calls import Op, Sleep, clock
from airflow_provider_pseven.client.errors import (
    PsevenServerError,
    PsevenStateError,
    PsevenTransportError,
)
from airflow_provider_pseven.client.lifecycle import stop_run
from airflow_provider_pseven.client.models import AppState, Run, RunState
from airflow_provider_pseven.client.operations import get_run_summary, message_pop
from airflow_provider_pseven.client.outcomes import (
    WaitResult,
    app_summary,
    run_summary,
)
from airflow_provider_pseven.client.refs import RunRef
from airflow_provider_pseven.client.text import client_logger

log = client_logger()

TRANSIENT = (PsevenTransportError, PsevenServerError)


def _passed(deadline: float | None) -> Op[bool]:
    if deadline is None:
        return False
    return (yield from clock()) >= deadline


def classify(
    ref: RunRef,
    run: Run,
    targets: Collection[RunState],
    failures: Collection[RunState] = (RunState.FAILED, RunState.INTERRUPTED),
) -> WaitResult | None:
    """How a wait for ``targets`` stands given the run as read: ended, or None to keep waiting.

    A terminal state that is neither target nor failure (e.g. FINISHED while waiting for
    CONFIGURATION) also ends the wait as a failure: it can never reach the target any more.
    """
    if run.state in targets:
        return WaitResult("success", run.state_text, run_summary(ref, run))
    if run.state in failures or run.state.is_terminal:
        what = f"run {ref.run_id} ended {run.state_text}"
        return WaitResult("failed", run.state_text, run_summary(ref, run), what)
    return None


def wait_for_run(
    ref: RunRef,
    targets: Collection[RunState],
    failures: Collection[RunState] = (RunState.FAILED, RunState.INTERRUPTED),
    *,
    deadline: float | None = None,
    interval: float = 5.0,
    known: RunState | None = None,
) -> Op[WaitResult]:
    """Poll a run until it reaches a target state, a failure state, or the deadline (see :func:`classify`).

    ``known``: the state the caller has just seen the run in (it deployed or started it), so even
    the first look is a watch that answers only once the state has changed.
    """
    last: RunState | None = known
    seen: str | None = None if known is None else known.value  # the state text of the last answer
    every = Sleep(interval, aligned=True, until=deadline)
    pause: Sleep | None = None if known is None else every  # none before the first look
    started = yield from clock()
    while True:
        try:
            # From the second look on, the driver answers only once the state has changed (or the
            # deadline has come): the async client then keeps a wait asleep, not polling, while
            # its run stays RUNNING (client/watches.py).
            run = yield from get_run_summary(ref, unless=seen, pause=pause)
        except TRANSIENT as error:
            log.warning("Run %s: could not read its state (%s); polling again", ref.run_id, error)
        else:
            seen = run.state_text
            if run.state is not last:
                elapsed = (yield from clock()) - started
                log.info("Run %s (%s) is %s after %.0f s", ref.run_id, run.name, run.state_text, elapsed)
                last = run.state
            ended = classify(ref, run, targets, failures)
            if ended is not None:
                return ended
            # Nothing of this poll outlives it: a run read kept across the sleep, times thousands
            # of waits, is what makes the cyclic GC's collections grow (docs/benchmarks.md).
            del run
        if (yield from _passed(deadline)):
            state = last.value if last else "unknown"
            what = f"run {ref.run_id} was still {state} at its deadline"
            return WaitResult("timeout", state, {**ref.as_dict(), "state": state}, what)
        pause = every


def interrupt_once_running(ref: RunRef, *, deadline: float | None, interval: float = 5.0) -> Op[WaitResult]:
    """Watch a run that is QUEUED_TO_RUN, where the guide allows neither interrupt nor delete,
    until it leaves the queue, and interrupt it if it then runs. ``message`` says what was done."""
    left = yield from wait_for_run(ref, [RunState.RUNNING], (), deadline=deadline, interval=interval)
    run = ref.run_id
    if left.status == "timeout":
        what = f"run {run} was still QUEUED_TO_RUN when the watch ended, and was left queued, unwatched"
        return WaitResult("timeout", left.state, left.payload, what)
    if left.status == "failed":
        return WaitResult(
            "success", left.state, left.payload, f"run {run} ended {left.state} without an interrupt"
        )
    stopped = yield from stop_run(ref, queued_polls=0)
    if stopped.interrupted:
        what = f"run {run} left the queue and was interrupted as soon as it was RUNNING"
        return WaitResult("success", "INTERRUPTED", left.payload, what)
    state = stopped.run.state_text
    return WaitResult("success", state, left.payload, f"run {run} ended {state} without an interrupt")


def wait_for_app(
    app_id: str, version: int | None, *, deadline: float | None = None, interval: float = 5.0
) -> Op[WaitResult]:
    """Poll an app version until it is READY (deployable) or fails publishing."""
    last = None
    while True:
        try:
            app = yield from get_app(app_id, version)
        except TRANSIENT as error:
            log.warning("App %s: could not read its state (%s); polling again", app_id, error)
        else:
            if app.state is not last:
                log.info("App %s version %s is %s", app.name or app_id, app.version, app.state_text)
                last = app.state
            if app.state is AppState.READY:
                return WaitResult("success", app.state_text, app_summary(app))
            if app.state is AppState.FAILED:
                return WaitResult(
                    "failed", app.state_text, app_summary(app), f"publishing app {app_id} failed"
                )
        if (yield from _passed(deadline)):
            state = last.value if last else "unknown"
            what = f"app {app_id} version {version} was still {state} at its deadline"
            return WaitResult("timeout", state, {"app_id": app_id, "version": version, "state": state}, what)
        yield Sleep(interval, until=deadline)


def _where(channel: str | None) -> str:
    return f"channel {channel!r}" if channel else "the default channel"


def _ended_before_message(ref: RunRef, channel: str | None) -> Op[WaitResult | None]:
    """The failure to report if the run has ended (no message can come any more), else None."""
    run = yield from get_run_summary(ref)
    if not run.state.is_terminal:
        return None
    return WaitResult(
        "failed",
        run.state_text,
        run_summary(ref, run),
        f"run {ref.run_id} ended {run.state_text} before a message came on {_where(channel)}",
    )


def poll_message(ref: RunRef, channel: str | None = None) -> Op[WaitResult | None]:
    """One look for a message: success with it, failure if the run ended first, None to keep waiting.

    The guide names no status for popping outside RUNNING ("error status code"), and a server may
    just answer 204 for a run that ended, so the run's state is read whenever the queue gives
    nothing: a run that ends without a message fails the wait with its final state at once.
    """
    try:
        message = yield from message_pop(ref, channel)
    except PsevenStateError:  # the run, read after the refusal, is not RUNNING
        return (yield from _ended_before_message(ref, channel))  # None: not running yet
    if message is not None:
        log.info("Run %s: received a message on %s", ref.run_id, _where(channel))
        return WaitResult("success", "RUNNING", {**ref.as_dict(), "message": message})
    return (yield from _ended_before_message(ref, channel))


def wait_for_message(
    ref: RunRef, channel: str | None = None, *, deadline: float | None = None, interval: float = 5.0
) -> Op[WaitResult]:
    """Pop the run's platform-to-client queue until a message comes, the run ends, or the deadline."""
    while True:
        try:
            outcome = yield from poll_message(ref, channel)
        except TRANSIENT as error:
            log.warning("Run %s: could not read %s (%s); polling again", ref.run_id, _where(channel), error)
        else:
            if outcome is not None:
                return outcome
        if (yield from _passed(deadline)):
            what = f"no message on {_where(channel)} of run {ref.run_id} before the deadline"
            return WaitResult("timeout", "RUNNING", ref.as_dict(), what)
        yield Sleep(interval, until=deadline)
