"""What every pSeven operator shares: a connection id, the hook built from it, and the run address.

How operators wait and meet retries is in :mod:`airflow_provider_pseven.tasks`, shared with the
sensors (re-exported here for code that imports it from this module).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_pseven.compat import RTIF_RESEND_GUARDED
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.tasks.address import RunAddress
from airflow_provider_pseven.tasks.notes import LineageMixin
from airflow_provider_pseven.tasks.retries import (
    PERMANENT_ERRORS,
    TaskStateMemory,
    will_retry,
    with_default_retry_policy,
)
from airflow_provider_pseven.tasks.waiting import RERUN_HINT, WaitingMixin, failure_reason, positive
from airflow_provider_pseven.tasks.xcoms import ResultXComs


class PsevenBaseOperator(LineageMixin, BaseOperator):
    """Base of all pSeven operators: a connection id and a hook built from it."""

    template_fields: Sequence[str] = ("pseven_conn_id",)
    #: The operator returns a dict: push each key as its own XCom too, so that
    #: ``op.output["run_id"]`` works as well as ``ti.xcom_pull('op')['run_id']``.
    returns_mapping: bool = False
    #: The run directory as an OpenLineage dataset of this task: "output" (the task makes or fills
    #: it), "input" (reads it) or None (the run is only in the ``pseven_run`` facet). See lineage.py.
    pseven_run_dataset: str | None = None

    def __init__(
        self,
        *,
        pseven_conn_id: str = PsevenHook.default_conn_name,
        push_result_keys: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """:param push_result_keys: push each key of the returned dict as an XCom of its own with
        ``ti.xcom_push`` (default: true for operators that return a dict). ``multiple_outputs=``
        is read as this (what DAGs wrote before); Airflow's own ``multiple_outputs`` push stays off,
        because one key or value its execution API refuses would fail the task after its pSeven
        run finished: here such a key is skipped with a log line (see tasks/xcoms.ResultXComs)."""
        with_default_retry_policy(kwargs)
        declared = kwargs.pop("multiple_outputs", None)
        if push_result_keys is None:
            push_result_keys = self.returns_mapping if declared is None else bool(declared)
        kwargs["post_execute"] = ResultXComs(kwargs.get("post_execute"))
        super().__init__(**kwargs)
        #: Whether ResultXComs pushes each key of a returned dict (see the parameter).
        self.push_result_keys = push_result_keys
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

    _runtime_ti: Any = None
    _overwrite_rtif: bool = True


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
