"""A task's run address: ``workflow_id`` (or ``app_id``) plus ``run_id``, all templated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_pseven.client import RunKind, RunRef
from airflow_provider_pseven.client.ids import check_id, is_literal


class RunAddress(BaseOperator):
    """A run addressed by ``workflow_id`` (or ``app_id``) plus ``run_id``, all templated, so
    ``run_id=deploy.output["run_id"]`` and ``run_id="{{ ti.xcom_pull('deploy')['run_id'] }}"`` work.

    The base of the run operators and the run sensors, beside their own base (``class
    RunStateSensor(..., BaseSensorOperator, RunAddress)``): it takes the three arguments and passes
    the rest on. Being a BaseOperator, its arguments are known to ``partial()`` and ``expand()``.

    :param run_id: the run's id, usually ``deploy.output["run_id"]``.
    :param workflow_id: the workflow the run belongs to (or ``app_id`` for an AppsHub app run).
    :param app_id: the AppsHub app the run belongs to.
    """

    run_address_fields = ("workflow_id", "app_id", "run_id")
    template_fields: Sequence[str] = run_address_fields

    def __init__(
        self, *, run_id: str, workflow_id: str | None = None, app_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if workflow_id is not None and app_id is not None:
            raise ValueError("Give workflow_id or app_id, not both")
        if workflow_id is None and app_id is None:
            raise ValueError("Give workflow_id (a workflow run) or app_id (an AppsHub app run)")
        # An id written as a literal fails when the DAG is parsed; a templated one when it has
        # rendered (``ref``), before any request.
        for name, value in (("workflow_id", workflow_id), ("app_id", app_id), ("run_id", run_id)):
            if is_literal(value):
                check_id(name, value)
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
