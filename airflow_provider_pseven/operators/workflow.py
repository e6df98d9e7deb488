"""RunWorkflowOperator: the whole run cycle in one task, built from the same pieces as the others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven import assets
from airflow_provider_pseven.client import PsevenError, RunRef, RunState
from airflow_provider_pseven.client.outcomes import WaitResult, run_summary
from airflow_provider_pseven.compat import TaskDeferred
from airflow_provider_pseven.operators.base import TaskStateMemory, WaitingMixin
from airflow_provider_pseven.operators.files import (
    check_inputs,
    download_item,
    push_urls,
    upload_files,
    written_url,
)
from airflow_provider_pseven.operators.parameters import apply_parameters, shown_results
from airflow_provider_pseven.operators.runs import DeployingOperator
from airflow_provider_pseven.tasks.runs import RUN_KEY, discarding_on_failure, resolve_parent, start_run_once

if TYPE_CHECKING:
    from airflow_provider_pseven.triggers.base import PsevenWaitTrigger


class RunWorkflowOperator(WaitingMixin, DeployingOperator):
    """Deploy, set parameters, upload, start, wait, read results, download, and optionally delete.

    Deferrable at both waits (for CONFIGURATION and for FINISHED). A run that ends FAILED raises a
    retryable error, so Airflow's ``retries`` deploy a new run (``retry_failed_runs=False`` fails at
    once instead). Within one try the run is deployed once and started once; a retry after a
    set-up failure reuses the still-live run; a cleared task deploys a new run.

    What to deploy (``workflow`` or ``app``, ``run_name``, ``run_path``, ``personal``,
    ``parameters``, ``secret_parameters``): see :class:`DeployingOperator`.

    :param files: files to upload into ``upload_destination``: local paths, URLs (``s3://...``,
        ``file://...``) or ``ObjectStoragePath``, or ``(that, name)``; folders and prefixes upload
        their tree. Checked (objects and their storage connections too) before anything is deployed.
    :param downloads: ``{file in the run: local or object-storage destination}`` fetched after FINISHED.
    :param delete_after: delete the run at the end, whether it succeeded or not.
    :param retry_failed_runs: let Airflow's retries rerun a workflow whose run ended FAILED or
        INTERRUPTED (default True).
    :return: results ``{name: value}``, Secrets as ``""``; the run's address
        ``{"workflow_id" | "app_id", "run_id", ...}`` is pushed too, under the XCom key ``pseven_run``.
    """

    returns_mapping = True
    pseven_run_dataset = "output"

    template_fields: Sequence[str] = (
        *DeployingOperator.template_fields,
        "files",
        "upload_destination",
        "downloads",
    )
    template_fields_renderers = {**DeployingOperator.template_fields_renderers, "downloads": "json"}

    def __init__(
        self,
        *,
        files: Sequence[Any] = (),
        upload_destination: str | None = None,
        downloads: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        delete_after: bool = False,
        retry_failed_runs: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        results_lag_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.files = files
        self.upload_destination = upload_destination
        self.downloads = downloads or {}
        self.overwrite = overwrite
        self.delete_after = delete_after
        self.retry_failed_runs = retry_failed_runs
        self.retries_redeploy = retry_failed_runs
        self.results_lag_timeout = results_lag_timeout
        self.init_waiting(deferrable, poll_interval, timeout)

    def _trigger(self, ref: RunRef, target: str) -> PsevenWaitTrigger:
        from airflow_provider_pseven.triggers.run_state import RunStateTrigger

        return RunStateTrigger.for_run(
            self.pseven_conn_id,
            ref,
            [target],
            deadline=self.deadline(),
            poll_interval=self.poll_interval or 5.0,
        )

    # --- the sequence: deploy, (wait for CONFIGURATION), set up and start, wait, collect ----------

    def execute(self, context: Any) -> Any:
        if self.files:
            check_inputs(self.files)
        ref, run = self.deploy(context)
        # The results are the return value; the run's address goes beside them, so a later task
        # (e.g. picking the best run of a sweep) can still download from it.
        context["ti"].xcom_push(key="pseven_run", value=run_summary(ref, run))
        if run.state is RunState.QUEUED_TO_INITIALIZE:
            with discarding_on_failure(self, context, ref):
                configured = self.wait(self._trigger(ref, "CONFIGURATION"), "resume_configured", ref)
            return self._start(context, ref, configured)
        return self._start(context, ref, None)

    def resume_configured(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        ref, result = self._event_result(context, event)
        return self._start(context, ref, result)

    def _start(self, context: Any, ref: RunRef, configured: WaitResult | None) -> Any:
        with discarding_on_failure(self, context, ref):
            if configured is not None:
                self.check_run_result(configured, ref)
            client = self.hook.client
            if client.get_run(ref).state is RunState.CONFIGURATION:
                if self.parameters:
                    self.log.info("Set parameters: %s", apply_parameters(client, ref, self.parameters, self))
                if self.files:
                    upload_files(
                        client, ref, self.files, self.upload_destination, (), self.log, None, context
                    )
            start_run_once(self, ref)
        finished = self.wait(self._trigger(ref, "FINISHED"), "resume_finished", ref)
        return self._finished(context, ref, finished)

    def resume_finished(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        ref, result = self._event_result(context, event)
        return self._finished(context, ref, result)

    def _finished(self, context: Any, ref: RunRef, result: WaitResult) -> Any:
        watched = False  # a timed-out run still queued is handed to a trigger, deleted after it
        try:
            self.check_run_result(result, ref)
            run = self.hook.client.get_results(ref, lag_timeout=self.results_lag_timeout)
            written = []
            for remote, destination in self.downloads.items():
                written += download_item(self.hook.client, ref, remote, destination, self.overwrite, self.log)
            assets.attach_run(context, self.hook.client, ref, run, written)
            if self.downloads:
                push_urls(context, "downloaded_urls", [written_url(path) for path in written])
        except TaskDeferred:
            watched = True
            raise
        finally:
            if not watched:
                self._delete_after(ref)
        TaskStateMemory(context, RUN_KEY).forget()
        results = shown_results(run)
        self.log.info("Run %s results: %s", ref.run_id, results)
        return results

    # --- helpers --------------------------------------------------------------------------------

    def _event_result(self, context: Any, event: Any) -> tuple[RunRef, WaitResult]:
        """The event's result and run; a broken event still lets ``delete_after`` find the run."""
        try:
            result = self.result_from_event(event)
            return RunRef.from_summary(result.payload), result
        except Exception:
            record = TaskStateMemory(context, RUN_KEY).get()
            if isinstance(record, dict) and record.get("run_id") and record.get("parent_id"):
                kind, _ = resolve_parent(self.hook.client, self.workflow, self.app)
                self._delete_after(RunRef(kind, str(record["parent_id"]), str(record["run_id"])))
            raise

    def after_queued_watch(self, ref: RunRef) -> None:
        self._delete_after(ref)

    def _delete_after(self, ref: RunRef) -> None:
        if not self.delete_after:
            return
        try:
            self.hook.client.teardown(ref)
            self.log.info("Deleted run %s", ref.run_id)
        except PsevenError as error:
            self.log.warning("Could not delete run %s: %s", ref.run_id, error)
