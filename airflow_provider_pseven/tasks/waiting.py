"""Deferrable waiting with absolute deadlines, and what a task says when the run it waited for failed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_pseven.client import PsevenError, RunRef
from airflow_provider_pseven.client.outcomes import QUEUED_WATCH_LIMIT, WaitResult
from airflow_provider_pseven.compat import AirflowException, AirflowFailException, conf

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_pseven.hooks.pseven import PsevenHook
    from airflow_provider_pseven.triggers.base import PsevenWaitTrigger

LOG_TAIL_LINES = 50
#: Seconds a killed task watches a QUEUED_TO_RUN run for it to run (Airflow's supervisor kills the
#: process 5 s after SIGTERM).
KILL_QUEUED_POLLS = 3
#: At most this many lines of the run log go into a failed task's exception message.
REASON_LINES = 10
_ERROR_WORDS = re.compile(r"error|exception|traceback|failed|fatal", re.IGNORECASE)


def positive(name: str, value: float | None, *, allow_none: bool = True) -> float | None:
    """Validate a timeout or interval at DAG parse time, with a message that says what to fix."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


RERUN_HINT = (
    "A pSeven run that ended cannot start again, so a retry of this task cannot help. To run the "
    "workflow again, clear this DAG run from the task that deploys the run, or use "
    "RunWorkflowOperator, whose retries deploy a new run."
)


def default_deferrable() -> bool:
    """Airflow's convention for ``deferrable=None``, the one rule of every pSeven operator and
    sensor that waits: ``[operators] default_deferrable`` (False unless the deployment sets it),
    as Airflow's own and the dbt Cloud provider's operators and sensors read it."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class WaitingMixin:
    """Deferrable waiting with absolute deadlines, the same loop whether deferred or not.

    Deferred, the trigger runs the waiting operation in the triggerer; not deferred, the operator
    runs the very same operation on the hook's blocking client.
    """

    log: Any
    task_id: str
    #: Whether a retry of this task gets past a run that ended FAILED or INTERRUPTED: true for a
    #: task that deploys its own run (its retry deploys a new one); a step of a given run fails at
    #: once, since retrying the step would meet the same ended run.
    retries_redeploy: bool = False

    if TYPE_CHECKING:
        # Given by the task class the mixin is combined with (PsevenBaseOperator or a sensor).

        @property
        def hook(self) -> PsevenHook: ...

        def defer(
            self,
            *,
            trigger: BaseTrigger,
            method_name: str,
            kwargs: dict[str, Any] | None = None,
            timeout: timedelta | int | float | None = None,
        ) -> NoReturn: ...

    def init_waiting(
        self,
        deferrable: bool | None,
        poll_interval: float,
        timeout: float | None,
        interrupt_on_timeout: bool = True,
    ) -> None:
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = positive("poll_interval", poll_interval, allow_none=False)
        self.wait_timeout = positive("timeout", timeout)
        self.interrupt_on_timeout = interrupt_on_timeout
        self._waiting_on: RunRef | None = None

    def deadline(self) -> float | None:
        """The absolute deadline of a wait starting now, on the client's clock (wall-clock time)."""
        return None if self.wait_timeout is None else self.hook.client.core.clock() + self.wait_timeout

    def wait(self, trigger: PsevenWaitTrigger, method_name: str, ref: RunRef | None = None) -> WaitResult:
        """Defer to ``trigger`` (resuming in ``method_name``), or run its wait here and return."""
        if self.deferrable:
            self.defer(trigger=trigger, method_name=method_name)
        self._waiting_on = ref
        try:
            return self.hook.client.run(trigger.waiting_op())
        finally:
            self._waiting_on = None

    def on_kill(self) -> None:
        """A killed task interrupts the run it was waiting on (non-deferred waits).

        Airflow gives a killed task's process a few seconds (its supervisor escalates SIGTERM to
        SIGKILL after 5 s), so a run still QUEUED_TO_RUN, which the API can neither interrupt nor
        delete, is watched for :data:`KILL_QUEUED_POLLS` s only; then the log names it and its URL.
        """
        ref = self._waiting_on
        if ref is None:
            return
        try:
            stopped = self.hook.client.stop_run(ref, queued_polls=KILL_QUEUED_POLLS, interval=1.0)
        except PsevenError as error:
            self.log.warning("Could not interrupt pSeven run %s: %s", ref.run_id, error)
            return
        if stopped.interrupted:
            self.log.info("Interrupted pSeven run %s because the task was killed", ref.run_id)
        elif stopped.left_queued:
            self.log.error(
                "pSeven run %s (%s) is QUEUED_TO_RUN, where the API can neither interrupt nor delete "
                "it, and the killed task cannot wait for it: it will run unwatched. Interrupt it once it "
                "runs (InterruptRunOperator or pSeven Studio)",
                ref.run_id,
                stopped.run.url,
            )

    @staticmethod
    def result_from_event(event: Any) -> WaitResult:
        """Validate a trigger event; a malformed one fails the task saying so."""
        if not isinstance(event, dict) or event.get("status") not in (
            "success",
            "failed",
            "timeout",
            "error",
        ):
            raise AirflowException(f"The pSeven trigger sent a malformed event: {event!r}")
        if event["status"] == "error":
            raise AirflowException(f"Waiting in the triggerer failed: {event.get('message') or 'no detail'}")
        payload = event.get("payload")
        return WaitResult(
            status=event["status"],
            state=str(event.get("state") or ""),
            payload=payload if isinstance(payload, dict) else {},
            message=str(event.get("message") or ""),
        )

    def check_run_result(self, result: WaitResult, ref: RunRef) -> dict[str, Any]:
        """Return the run summary on success; on failure log the run log's tail and fail.

        The exception names the run's state and ends with the run log's last error lines, so
        failure callbacks, alert e-mails and the UI's error summary show why.
        """
        if result.status == "success":
            return result.payload
        if result.status == "timeout":
            self.stop_on_timeout(ref, result)
        reason = failure_reason(self.log_run_tail(ref))
        message = f"pSeven {result.message or f'run {ref.run_id} ended {result.state}'}"
        if reason:
            message += f". The run log ends with:\n{reason}"
        if self.retries_redeploy:
            raise AirflowException(message)
        if getattr(self, "retries", 0):
            self.log.warning("Not retrying: %s", RERUN_HINT)
        raise AirflowFailException(f"{message}\n{RERUN_HINT}")

    def stop_on_timeout(self, ref: RunRef, result: WaitResult) -> NoReturn:
        """Fail for a timeout, interrupting the run (``interrupt_on_timeout``).

        A run QUEUED_TO_RUN can be neither interrupted nor deleted (the guide), so it is handed to a
        :class:`QueuedRunTrigger` that interrupts it once it runs, for at most
        :data:`QUEUED_WATCH_LIMIT` s; the task fails when that watch ends, saying what was done.
        """
        message = (
            f"Timed out after {self.wait_timeout:g} s waiting for pSeven run {ref.run_id}: {result.message}"
        )
        if not self.interrupt_on_timeout:
            raise AirflowException(message)
        try:
            stopped = self.hook.client.stop_run(ref, queued_polls=0)
        except PsevenError as error:
            raise AirflowException(f"{message}; interrupting it failed: {error}") from None
        if not stopped.left_queued:
            raise AirflowException(message + ("; the run was interrupted" if stopped.interrupted else ""))
        url = stopped.run.url
        self.log.warning(
            "Run %s (%s) is QUEUED_TO_RUN, where the API can neither interrupt nor delete it: a trigger "
            "watches it for up to %.0f h and interrupts it once it runs",
            ref.run_id,
            url,
            QUEUED_WATCH_LIMIT / 3600,
        )
        from airflow_provider_pseven.triggers.queued_run import QueuedRunTrigger

        trigger = QueuedRunTrigger.for_run(
            self.hook.pseven_conn_id,
            ref,
            deadline=self.hook.client.core.clock() + QUEUED_WATCH_LIMIT,
            poll_interval=self.poll_interval or 5.0,
        )
        self.defer(
            trigger=trigger,
            method_name="resume_after_queued",
            kwargs={"message": message, "url": url},
            timeout=timedelta(seconds=QUEUED_WATCH_LIMIT + 3600),
        )

    def resume_after_queued(
        self, context: Any, event: Any = None, message: str = "", url: str = ""
    ) -> NoReturn:
        """The end of a :class:`QueuedRunTrigger` watch: fail the timed-out task, saying what was done."""
        record = event.get("payload") if isinstance(event, dict) else None
        if isinstance(record, dict) and record.get("run_id"):
            self.after_queued_watch(RunRef.from_summary(record))
        try:
            done = self.result_from_event(event).message
        except AirflowException as error:
            done = f"watching it failed: {error}"
        raise AirflowException(f"{message}. The run ({url}) was QUEUED_TO_RUN, so it was watched: {done}")

    def after_queued_watch(self, ref: RunRef) -> None:
        """What a task does with its run once the watch of a queued run ended (nothing, here)."""

    def log_run_tail(self, ref: RunRef) -> str:
        """Put the run log's last lines into the task log; return them ("" when there are none).

        Best effort: a run that did not finish may have no ``logfile_url`` (the guide gives one for
        FINISHED runs), and then the guide's example file name is tried; the task log says so.
        """
        try:
            tail = self.hook.client.run_log_tail(ref, LOG_TAIL_LINES)
        except PsevenError as error:
            self.log.warning("Could not read the log of run %s: %s", ref.run_id, error)
            return ""
        if tail.text:
            self.log.error("Last %d lines of the run log (%s):\n%s", LOG_TAIL_LINES, tail.source, tail.text)
        elif tail.guessed:
            self.log.warning(
                "Run %s has no log to show: its details give no logfile_url, and %s, tried as a best "
                "effort, is not there",
                ref.run_id,
                tail.source,
            )
        else:
            self.log.warning(
                "Run %s has no log to show: its logfile_url (%s) gave nothing", ref.run_id, tail.source
            )
        return tail.text


def failure_reason(log_tail: str) -> str:
    """The run log's last error lines (at most :data:`REASON_LINES`), Secrets masked: the part of a
    failure that alert e-mails, failure callbacks and the UI's error summary need."""
    lines = [line for line in log_tail.splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_WORDS.search(line)]
    chosen = (errors or lines)[-REASON_LINES:]
    if not chosen:
        return ""
    try:
        from airflow.sdk.log import redact
    except ImportError:  # pragma: no cover - older Task SDKs
        return "\n".join(chosen)
    return "\n".join(str(redact(line)) for line in chosen)
