"""A task's run address: ``workflow_id`` (or ``app_id``) plus ``run_id``, all templated."""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven.client import RunKind, RunRef


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
