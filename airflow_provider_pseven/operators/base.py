"""What every pSeven operator shares: the hook, the run address, and deferrable waiting."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_pseven.client import (
    PsevenApiNotFoundError,
    PsevenAuthError,
    PsevenConfigError,
    PsevenError,
    PsevenLookupError,
    PsevenNotJsonError,
    PsevenUnsafeURLError,
    RunKind,
    RunRef,
)
from airflow_provider_pseven.client.waiting import WaitResult
from airflow_provider_pseven.compat import AirflowException, AirflowFailException, ResultXComs, conf
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.triggers.base import PsevenWaitTrigger

LOG_TAIL_LINES = 50
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


#: Errors that a retry cannot mend: with Airflow's retry policy the task fails at once instead of
#: using up its retries (the exception keeps its type and message).
PERMANENT_ERRORS: tuple[type[PsevenError], ...] = (
    PsevenConfigError,
    PsevenLookupError,
    PsevenAuthError,
    PsevenNotJsonError,
    PsevenApiNotFoundError,
    PsevenUnsafeURLError,
)


def permanent_error_policy() -> Any:
    """The default ``retry_policy`` of pSeven tasks: no retry for a mistake only a person can fix.

    None on Airflow before 3.3, which has no retry policies (such tasks use their plain retries).
    """
    try:
        from airflow_provider_pseven.compat import ExceptionRetryPolicy, RetryAction, RetryRule
    except ImportError:  # pragma: no cover - Airflow < 3.3
        return None
    return ExceptionRetryPolicy(
        rules=[
            RetryRule(
                exception=[f"{e.__module__}.{e.__qualname__}" for e in PERMANENT_ERRORS],
                action=RetryAction.FAIL,
                reason="a retry cannot fix this: correct the DAG, the connection or the server address",
            )
        ]
    )


def with_default_retry_policy(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Add the permanent-error retry policy unless the task brings its own (or Airflow has none).

    ``None`` counts as none given: it is Airflow's own default, and a mapped task's partial
    arguments always carry it, so ``.partial().expand()`` tasks get the policy too.
    """
    if kwargs.get("retry_policy") is None:
        policy = permanent_error_policy()
        if policy is not None:
            kwargs["retry_policy"] = policy
    return kwargs


class PsevenBaseOperator(BaseOperator):
    """Base of all pSeven operators: a connection id and a hook built from it."""

    template_fields: Sequence[str] = ("pseven_conn_id",)
    #: The operator returns a dict: push each key as its own XCom too, so that
    #: ``op.output["run_id"]`` works as well as ``ti.xcom_pull('op')['run_id']`` (``multiple_outputs``
    #: turns it off; a key Airflow refuses is skipped with a log line, see compat.ResultXComs).
    returns_mapping: bool = False
    #: Values of Secret parameters are registered with the secret masker during ``execute`` (only
    #: then is a parameter's type known); re-sending the rendered fields afterwards stores them
    #: redacted.
    overwrite_rtif_after_execution: bool = True

    def __init__(self, *, pseven_conn_id: str = PsevenHook.default_conn_name, **kwargs: Any) -> None:
        with_default_retry_policy(kwargs)
        if self.returns_mapping:
            kwargs.setdefault("multiple_outputs", True)
        kwargs["post_execute"] = ResultXComs(kwargs.get("post_execute"))
        super().__init__(**kwargs)
        self.pseven_conn_id = pseven_conn_id

    @cached_property
    def hook(self) -> PsevenHook:
        return PsevenHook(self.pseven_conn_id)

    # The keys of a returned dict are pushed by ResultXComs (compat.py) after execute, each key or
    # value the execution API refuses skipped with a log line: Airflow's own multiple_outputs push
    # would fail the task after its pSeven run finished. So the one read of ``multiple_outputs`` by
    # the task runner right after ResultXComs pushed answers False; every other read sees the
    # declared value (downstream, ``op.output["key"]`` of a missing or None key then reads None).
    _declared_multiple_outputs: bool = False
    _result_keys_pushed: bool = False

    @property
    def multiple_outputs(self) -> bool:
        if self._result_keys_pushed:
            self._result_keys_pushed = False
            return False
        return self._declared_multiple_outputs

    @multiple_outputs.setter
    def multiple_outputs(self, value: bool) -> None:
        self._declared_multiple_outputs = bool(value)

    @property
    def push_result_keys(self) -> bool:
        """Whether each key of a returned dict is pushed as an XCom of its own too."""
        return self._declared_multiple_outputs

    def result_keys_pushed(self) -> None:
        """Called by ResultXComs once it pushed the keys: Airflow's runner is not to push them."""
        self._result_keys_pushed = True


class RunAddress:
    """A run addressed by ``workflow_id`` (or ``app_id``) plus ``run_id``, all templated, so
    ``run_id=deploy.output["run_id"]`` and ``run_id="{{ ti.xcom_pull('deploy')['run_id'] }}"`` work.
    Shared by the run operators and the run sensors."""

    run_address_fields = ("workflow_id", "app_id", "run_id")

    def set_run_address(self, run_id: Any, workflow_id: Any, app_id: Any) -> None:
        if workflow_id is not None and app_id is not None:
            raise ValueError("Give workflow_id or app_id, not both")
        if workflow_id is None and app_id is None:
            raise ValueError("Give workflow_id (a workflow run) or app_id (an AppsHub app run)")
        self.workflow_id = workflow_id
        self.app_id = app_id
        self.run_id = run_id

    @property
    def ref(self) -> RunRef:
        """The rendered run address; empty rendered ids fail with a message naming them."""
        if self.app_id is not None:
            return RunRef(RunKind.APP, _text(self.app_id), _text(self.run_id))
        return RunRef(RunKind.WORKFLOW, _text(self.workflow_id), _text(self.run_id))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class PsevenRunOperator(RunAddress, PsevenBaseOperator):
    """Base of operators that address one run (see :class:`RunAddress`)."""

    template_fields: Sequence[str] = ("pseven_conn_id", *RunAddress.run_address_fields)

    def __init__(
        self,
        *,
        run_id: str,
        workflow_id: str | None = None,
        app_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.set_run_address(run_id, workflow_id, app_id)


RERUN_HINT = (
    "A pSeven run that ended cannot start again, so a retry of this task cannot help. To run the "
    "workflow again, clear this DAG run from the task that deploys the run, or use "
    "RunWorkflowOperator, whose retries deploy a new run."
)


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

        @property
        def hook(self) -> PsevenHook: ...

    def init_waiting(
        self,
        deferrable: bool | None,
        poll_interval: float,
        timeout: float | None,
        interrupt_on_timeout: bool = True,
    ) -> None:
        self.deferrable = (
            conf.getboolean("operators", "default_deferrable", fallback=False)
            if deferrable is None
            else deferrable
        )
        self.poll_interval = positive("poll_interval", poll_interval, allow_none=False)
        self.timeout = positive("timeout", timeout)
        self.interrupt_on_timeout = interrupt_on_timeout
        self._waiting_on: RunRef | None = None

    def deadline(self) -> float | None:
        """The absolute deadline of a wait starting now, on the client's clock (wall-clock time)."""
        return None if self.timeout is None else self.hook.client.core.clock() + self.timeout

    def wait(self, trigger: PsevenWaitTrigger, method_name: str, ref: RunRef | None = None) -> WaitResult:
        """Defer to ``trigger`` (resuming in ``method_name``), or run its wait here and return."""
        if self.deferrable:
            self.defer(trigger=trigger, method_name=method_name)  # type: ignore[attr-defined]
        self._waiting_on = ref
        try:
            return self.hook.client.run(trigger.waiting_op())
        finally:
            self._waiting_on = None

    def on_kill(self) -> None:
        """A killed task interrupts the run it was waiting on (non-deferred waits)."""
        ref = self._waiting_on
        if ref is None:
            return
        try:
            if self.hook.client.interrupt_if_running(ref):
                self.log.info("Interrupted pSeven run %s because the task was killed", ref.run_id)
        except PsevenError as error:
            self.log.warning("Could not interrupt pSeven run %s: %s", ref.run_id, error)

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
            interrupted = ""
            if self.interrupt_on_timeout:
                try:
                    if self.hook.client.interrupt_if_running(ref):
                        interrupted = "; the run was interrupted"
                except PsevenError as error:
                    interrupted = f"; interrupting it failed: {error}"
            raise AirflowException(
                f"Timed out after {self.timeout:g} s waiting for pSeven run {ref.run_id}: {result.message}"
                f"{interrupted}"
            )
        reason = failure_reason(self.log_run_tail(ref))
        message = f"pSeven {result.message or f'run {ref.run_id} ended {result.state}'}"
        if reason:
            message += f". The run log ends with:\n{reason}"
        if self.retries_redeploy:
            raise AirflowException(message)
        if getattr(self, "retries", 0):
            self.log.warning("Not retrying: %s", RERUN_HINT)
        raise AirflowFailException(f"{message}\n{RERUN_HINT}")

    def log_run_tail(self, ref: RunRef) -> str:
        """Put the run log's last lines into the task log; return them ("" when there are none)."""
        try:
            tail = self.hook.client.read_log_tail(ref, LOG_TAIL_LINES)
        except PsevenError as error:
            self.log.warning("Could not read the log of run %s: %s", ref.run_id, error)
            return ""
        if tail:
            self.log.error("Last %d lines of the run log (.p7.log.txt):\n%s", LOG_TAIL_LINES, tail)
        else:
            self.log.error("Run %s has no log yet", ref.run_id)
        return tail


class TaskStateMemory:
    """:class:`~airflow_provider_pseven.client.lifecycle.RunMemory` over Airflow's task state store.

    It survives between the tries of one task instance (Airflow 3.3+). A try that succeeds forgets
    its record, so clearing the task later starts afresh; without a store, nothing is remembered.
    """

    def __init__(self, context: Any, key: str) -> None:
        self.store = context.get("task_state_store")
        self.key = key

    def get(self) -> Any:
        return self.store.get(self.key) if self.store is not None else None

    def set(self, record: Any) -> None:
        if self.store is not None:
            self.store.set(self.key, record)

    def forget(self) -> None:
        if self.store is not None:
            self.store.delete(self.key)


def will_retry(context: Any) -> bool:
    """Whether Airflow will try this task instance again if the current try fails."""
    ti = context.get("ti")
    task = context.get("task")
    max_tries = getattr(ti, "max_tries", None)
    if not isinstance(max_tries, int):
        max_tries = getattr(task, "retries", 0) or 0
    try_number = getattr(ti, "try_number", 1)
    return isinstance(try_number, int) and try_number <= max_tries


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


__all__ = [
    "PsevenBaseOperator",
    "PsevenRunOperator",
    "TaskStateMemory",
    "WaitingMixin",
    "failure_reason",
    "positive",
    "will_retry",
]
