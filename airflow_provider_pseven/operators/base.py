"""What every pSeven operator shares: a connection id, the hook built from it, and the run address.

How operators wait and meet retries is in :mod:`airflow_provider_pseven.tasks`, shared with the
sensors (re-exported here for code that imports it from this module).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_pseven.compat import RTIF_RESEND_GUARDED, ResultXComs
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.lineage import LineageMixin
from airflow_provider_pseven.tasks.address import RunAddress
from airflow_provider_pseven.tasks.retries import (
    PERMANENT_ERRORS,
    TaskStateMemory,
    will_retry,
    with_default_retry_policy,
)
from airflow_provider_pseven.tasks.waiting import RERUN_HINT, WaitingMixin, failure_reason, positive


class PsevenBaseOperator(LineageMixin, BaseOperator):
    """Base of all pSeven operators: a connection id and a hook built from it."""

    template_fields: Sequence[str] = ("pseven_conn_id",)
    #: The operator returns a dict: push each key as its own XCom too, so that
    #: ``op.output["run_id"]`` works as well as ``ti.xcom_pull('op')['run_id']`` (``multiple_outputs``
    #: turns it off; a key Airflow refuses is skipped with a log line, see compat.ResultXComs).
    returns_mapping: bool = False
    #: The run directory as an OpenLineage dataset of this task: "output" (the task makes or fills
    #: it), "input" (reads it) or None (the run is only in the ``pseven_run`` facet). See lineage.py.
    pseven_run_dataset: str | None = None

    def __init__(self, *, pseven_conn_id: str = PsevenHook.default_conn_name, **kwargs: Any) -> None:
        with_default_retry_policy(kwargs)
        if self.returns_mapping:
            kwargs.setdefault("multiple_outputs", True)
        kwargs["post_execute"] = ResultXComs(kwargs.get("post_execute"))
        super().__init__(**kwargs)
        self.pseven_conn_id = pseven_conn_id

    @property
    def overwrite_rtif_after_execution(self) -> bool:
        """Values of Secret parameters are registered with the secret masker during ``execute``
        (only then is a parameter's type known): re-sending the rendered fields afterwards stores
        them redacted. Not after a try that goes up for retry on a Task SDK whose re-send is not
        guarded (compat.RTIF_RESEND_GUARDED): it would fail there, and the next try renders anew."""
        if not self._overwrite_rtif:
            return False
        if RTIF_RESEND_GUARDED:
            return True
        return getattr(self._runtime_ti, "state", None) != "up_for_retry"

    @overwrite_rtif_after_execution.setter
    def overwrite_rtif_after_execution(self, value: bool) -> None:
        self._overwrite_rtif = bool(value)

    def pre_execute(self, context: Any) -> None:
        # The task runner sets the try's final state on this object before it reads
        # overwrite_rtif_after_execution.
        self._runtime_ti = context.get("ti")

    @cached_property
    def hook(self) -> PsevenHook:
        return PsevenHook(self.pseven_conn_id)

    # The keys of a returned dict are pushed by ResultXComs (compat.py) after execute, each key or
    # value the execution API refuses skipped with a log line: Airflow's own multiple_outputs push
    # would fail the task after its pSeven run finished. So the one read of ``multiple_outputs`` by
    # the task runner right after ResultXComs pushed answers False; every other read sees the
    # declared value (downstream, ``op.output["key"]`` of a missing or None key then reads None).
    _declared_multiple_outputs: bool = False
    _runtime_ti: Any = None
    _overwrite_rtif: bool = True
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


class PsevenRunOperator(PsevenBaseOperator, RunAddress):
    """Base of operators that address one run (see :class:`RunAddress`)."""

    template_fields: Sequence[str] = ("pseven_conn_id", *RunAddress.run_address_fields)


__all__ = [
    "PERMANENT_ERRORS",
    "RERUN_HINT",
    "PsevenBaseOperator",
    "PsevenRunOperator",
    "RunAddress",
    "TaskStateMemory",
    "WaitingMixin",
    "failure_reason",
    "positive",
    "will_retry",
    "with_default_retry_policy",
]
