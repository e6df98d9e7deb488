"""RunWorkflowOperator: the whole run cycle in one task, built from the same pieces as the others."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_pseven.client import PsevenError, RunRef, RunState
from airflow_provider_pseven.client.waiting import run_summary
from airflow_provider_pseven.links import PsevenRunLink
from airflow_provider_pseven.operators.base import PsevenBaseOperator, WaitingMixin
from airflow_provider_pseven.operators.files import download_item, upload_files
from airflow_provider_pseven.operators.parameters import apply_parameters
from airflow_provider_pseven.operators.runs import (
    RUN_ID_KEY,
    default_run_name,
    deploy_or_reuse,
    resolve_parent,
    start_once,
)
from airflow_provider_pseven.triggers.run_state import RunStateTrigger


class RunWorkflowOperator(WaitingMixin, PsevenBaseOperator):
    """Deploy, set parameters, upload, start, wait, read results, download, and optionally delete.

    Deferrable at both waits (for CONFIGURATION and for FINISHED). Retries are safe: the run is
    deployed once per task instance and started once.

    :param workflow: workflow id, storage path or unique name (or ``app`` for an AppsHub app).
    :param parameters: ``{name or id: value}``.
    :param files: local files to upload (path or ``(path, name)``), into ``upload_destination``.
    :param downloads: ``{file in the run: local or object-storage destination}`` fetched after FINISHED.
    :param delete_after: delete the run at the end, whether it succeeded or not.
    :return: results ``{name: value}``, Secrets as ``""``; the run's address
        ``{"workflow_id" | "app_id", "run_id", ...}`` is pushed too, under the XCom key ``pseven_run``.
    """

    returns_mapping = True

    template_fields: Sequence[str] = (
        "pseven_conn_id",
        "workflow",
        "app",
        "run_name",
        "parameters",
        "files",
        "upload_destination",
        "downloads",
    )
    template_fields_renderers = {"parameters": "json", "downloads": "json"}
    operator_extra_links = (PsevenRunLink(),)

    def __init__(
        self,
        *,
        workflow: str | None = None,
        app: str | None = None,
        run_name: str | None = None,
        personal: bool = False,
        parameters: Mapping[str, Any] | None = None,
        files: Sequence[Any] = (),
        upload_destination: str | None = None,
        downloads: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        delete_after: bool = False,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        results_lag_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (workflow is None) == (app is None):
            raise ValueError("Give exactly one of workflow or app")
        self.workflow = workflow
        self.app = app
        self.run_name = run_name
        self.personal = personal
        self.parameters = parameters or {}
        self.files = files
        self.upload_destination = upload_destination
        self.downloads = downloads or {}
        self.overwrite = overwrite
        self.delete_after = delete_after
        self.results_lag_timeout = results_lag_timeout
        self.init_waiting(deferrable, poll_interval, timeout)

    def _trigger(self, ref: RunRef, target: str) -> RunStateTrigger:
        return RunStateTrigger(
            self.pseven_conn_id,
            ref.kind.value,
            ref.parent_id,
            ref.run_id,
            [target],
            deadline=self.deadline(),
            poll_interval=self.poll_interval or 5.0,
        )

    def execute(self, context: Any) -> Any:
        client = self.hook.client
        kind, parent_id = resolve_parent(client, self.workflow, self.app)
        name = self.run_name or default_run_name(context)
        run = deploy_or_reuse(client, context, self.log, kind, parent_id, name=name, personal=self.personal)
        ref = RunRef(kind, parent_id, run.id)
        # The results are the return value; the run's address goes beside them, so a later task
        # (e.g. picking the best run of a sweep) can still download from it.
        context["ti"].xcom_push(key="pseven_run", value=run_summary(ref, run))
        if run.state is RunState.QUEUED_TO_INITIALIZE:
            result = self.wait(self._trigger(ref, "CONFIGURATION"), "resume_configured", ref)
            self._guarded(ref, lambda: self.check_run_result(result, ref))
        return self._configured(context, ref)

    def _event_result(self, context: Any, event: Any) -> tuple[RunRef, Any]:
        """The event's result and run; a broken event still lets ``delete_after`` find the run."""
        try:
            result = self.result_from_event(event)
            return RunRef.from_summary(result.payload), result
        except Exception:
            store = context.get("task_state_store")
            recorded = store.get(RUN_ID_KEY) if store is not None else None
            if recorded:
                kind, parent_id = resolve_parent(self.hook.client, self.workflow, self.app)
                self._delete(RunRef(kind, parent_id, str(recorded)))
            raise

    def resume_configured(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        ref, result = self._event_result(context, event)
        self._guarded(ref, lambda: self.check_run_result(result, ref))
        return self._configured(context, ref)

    def _configured(self, context: Any, ref: RunRef) -> Any:
        client = self.hook.client

        def prepare_and_start() -> None:
            run = client.get_run(ref)
            if run.state is RunState.CONFIGURATION:
                if self.parameters:
                    self.log.info("Set parameters: %s", apply_parameters(client, ref, self.parameters))
                if self.files:
                    upload_files(client, ref, self.files, self.upload_destination, (), self.log)
            start_once(client, ref, self.log, self.deadline())

        self._guarded(ref, prepare_and_start)
        result = self.wait(self._trigger(ref, "FINISHED"), "resume_finished", ref)
        return self._finished(ref, result)

    def resume_finished(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        ref, result = self._event_result(context, event)
        return self._finished(ref, result)

    def _finished(self, ref: RunRef, result: Any) -> Any:
        def collect() -> dict[str, Any]:
            self.check_run_result(result, ref)
            run = self.hook.client.get_results(ref, lag_timeout=self.results_lag_timeout)
            for remote, destination in self.downloads.items():
                download_item(self.hook.client, ref, remote, destination, self.overwrite, self.log)
            return run.result_values()

        results = self._guarded(ref, collect)
        self._delete(ref)
        self.log.info("Run %s results: %s", ref.run_id, results)
        return results

    def _guarded(self, ref: RunRef, step: Any) -> Any:
        """Run a step; with ``delete_after``, a failure still deletes the run before it propagates."""
        try:
            return step()
        except BaseException:
            self._delete(ref)
            raise

    def _delete(self, ref: RunRef) -> None:
        if not self.delete_after:
            return
        client = self.hook.client
        try:
            if client.interrupt_if_running(ref):
                stopped = [RunState.INTERRUPTED, RunState.FINISHED, RunState.FAILED]
                client.wait_for_run(ref, stopped, deadline=time.time() + 300, interval=1.0)
            client.delete_run(ref)
            self.log.info("Deleted run %s", ref.run_id)
        except PsevenError as error:
            self.log.warning("Could not delete run %s: %s", ref.run_id, error)
