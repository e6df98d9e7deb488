"""Operators over one run's lifecycle: deploy, parameters, start, results, interrupt, delete.

The rules that must hold across retries and lost answers live in the client
(:mod:`airflow_provider_pseven.client.lifecycle`); these operators build the run's address, run
those operations, and shape what goes to XCom.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_pseven import assets
from airflow_provider_pseven.client import (
    PsevenError,
    Run,
    RunRef,
    RunState,
)
from airflow_provider_pseven.client.outcomes import run_summary
from airflow_provider_pseven.compat import AirflowException, AirflowFailException
from airflow_provider_pseven.links import PsevenRunLink
from airflow_provider_pseven.operators.base import (
    PsevenBaseOperator,
    PsevenRunOperator,
    TaskStateMemory,
    WaitingMixin,
    positive,
)
from airflow_provider_pseven.operators.parameters import (
    SecretParametersMixin,
    apply_parameters,
    shown_results,
)
from airflow_provider_pseven.tasks import notes
from airflow_provider_pseven.tasks.runs import (
    RUN_KEY,
    deploy_for_task,
    discarding_on_failure,
    resolve_parent,
    start_run_once,
)


class _WaitsForRun(WaitingMixin, PsevenBaseOperator):
    """Defer-or-poll for a run state, then hand over to :meth:`after_wait`.

    Its waiting arguments are declared here once, with the defaults of a short wait (an interrupt,
    a message); an operator that waits longer declares its own defaults and passes them on. An
    operator class itself, so that Airflow fills these arguments from ``default_args`` too.
    """

    def __init__(
        self,
        *,
        deferrable: bool | None = None,
        poll_interval: float = 2.0,
        timeout: float | None = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.init_waiting(deferrable, poll_interval, timeout, interrupt_on_timeout=False)

    def wait_for_states(self, context: Any, ref: RunRef, targets: Sequence[str]) -> Any:
        from airflow_provider_pseven.triggers.run_state import RunStateTrigger

        trigger = RunStateTrigger.for_run(
            self.pseven_conn_id,
            ref,
            targets,
            deadline=self.deadline(),
            poll_interval=self.poll_interval or 5.0,
        )
        result = self.wait(trigger, "execute_complete", ref)
        return self.waited(context, ref, self.check_run_result(result, ref))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        result = self.result_from_event(event)
        ref = RunRef.from_summary(result.payload)
        return self.waited(context, ref, self.check_run_result(result, ref))

    def waited(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        """The run reached its state: note it for lineage (the whole pseven_run facet), go on."""
        notes.record(self, ref, summary)
        return self.after_wait(context, ref, summary)

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        raise NotImplementedError


class DeployingOperator(SecretParametersMixin, PsevenBaseOperator):
    """Base of the operators that deploy a run: what to deploy, checked when the DAG is parsed.

    :param workflow: workflow id, storage path (``/Users/1/ToyWorkflow.p7wf``) or unique name.
    :param app: AppsHub app id, ``id@version`` or unique name (instead of ``workflow``). Runs
        deploy under the plain id, which runs the app's default version: a pinned version must be
        that one and READY, or the task fails naming the current one.
    :param run_name: the run's name; default ``airflow <dag> <dag run> <task>[ m<map index>] t<try>-<token>``.
    :param run_path: absolute storage folder for the run (workflows only; needs a name).
    :param personal: AppsHub only: run on the user's resources, not the workspace's.
    :param parameters: ``{name or id: value}`` set once the run is in CONFIGURATION.
    :param secret_parameters: names or ids (as ``parameters`` spells them) of Secret parameters:
        their values are masked as the task renders its templates, before anything is stored or sent.
    """

    template_fields: Sequence[str] = (
        "pseven_conn_id",
        "workflow",
        "app",
        "run_name",
        "run_path",
        "parameters",
    )
    template_fields_renderers = {"parameters": "json"}
    operator_extra_links = (PsevenRunLink(),)

    def __init__(
        self,
        *,
        workflow: str | None = None,
        app: str | None = None,
        run_name: str | None = None,
        run_path: str | None = None,
        personal: bool = False,
        parameters: Mapping[str, Any] | None = None,
        secret_parameters: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (workflow is None) == (app is None):
            raise ValueError("Give exactly one of workflow (a workflow run) or app (an AppsHub app run)")
        if run_path and app is not None:
            raise ValueError("run_path applies to workflow runs only: AppsHub runs have no path")
        if personal and app is None:
            raise ValueError("personal applies to AppsHub app runs only")
        self.workflow = workflow
        self.app = app
        self.run_name = run_name
        self.run_path = run_path
        self.personal = personal
        self.init_secret_parameters(secret_parameters, parameters)

    def deploy(self, context: Any) -> tuple[RunRef, Run]:
        """Deploy this task's run, or adopt the one an earlier try of it deployed."""
        kind, parent_id = resolve_parent(self.hook.client, self.workflow, self.app, self.parameters)
        run = deploy_for_task(
            self,
            context,
            kind,
            parent_id,
            run_name=self.run_name or None,
            path=self.run_path or None,
            personal=self.personal,
        )
        return RunRef(kind, parent_id, run.id), run


class DeployRunOperator(_WaitsForRun, DeployingOperator):
    """Deploy a run of a workflow (or AppsHub app), wait for CONFIGURATION, optionally set parameters.

    A retry of a failed try reuses the run that try deployed while it is still live; a successful
    try forgets it, so clearing the task deploys a new run. A set-up that fails with an error a
    retry cannot fix (an unknown parameter, say), or on the last try, deletes the run it deployed.
    What to deploy: see :class:`DeployingOperator`.

    :return: ``{"workflow_id" | "app_id", "run_id", "name", "path", "url", "state"}``
    """

    returns_mapping = True
    pseven_run_dataset = "output"
    retries_redeploy = True

    def __init__(self, *, poll_interval: float = 5.0, timeout: float | None = 3600.0, **kwargs: Any) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout, **kwargs)

    def execute(self, context: Any) -> Any:
        ref, run = self.deploy(context)
        with discarding_on_failure(self, context, ref):
            if run.state is RunState.CONFIGURATION:
                return self.waited(context, ref, run_summary(ref, run))
            return self.wait_for_states(context, ref, ["CONFIGURATION"])

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        result = self.result_from_event(event)
        ref = RunRef.from_summary(result.payload)
        with discarding_on_failure(self, context, ref):
            return self.waited(context, ref, self.check_run_result(result, ref))

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        if self.parameters:
            applied = apply_parameters(self.hook.client, ref, self.parameters, self)
            self.log.info("Set parameters of run %s: %s", ref.run_id, applied)
        TaskStateMemory(context, RUN_KEY).forget()
        return summary


class PatchParametersOperator(SecretParametersMixin, PsevenRunOperator):
    """Set run parameters by name or id, and check they took.

    Parameters not named here keep their values, a Secret set earlier included. Values of Secret
    parameters are masked in logs and shown as ``""`` in the returned XCom; those named in
    ``secret_parameters`` are masked as the task renders its templates, before anything is stored.

    :return: the applied values ``{name: value}``, Secrets as ``""``.
    """

    returns_mapping = True

    template_fields: Sequence[str] = (*PsevenRunOperator.template_fields, "parameters")
    template_fields_renderers = {"parameters": "json"}

    def __init__(
        self, *, parameters: Mapping[str, Any], secret_parameters: Sequence[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.init_secret_parameters(secret_parameters, parameters)

    def execute(self, context: Any) -> dict[str, Any]:
        notes.record(self, self.ref)
        applied = apply_parameters(self.hook.client, self.ref, self.parameters, self)
        self.log.info("Set parameters of run %s: %s", self.ref.run_id, applied)
        return applied


class StartRunOperator(_WaitsForRun, PsevenRunOperator):
    """Start a run in CONFIGURATION and (by default) wait for it to finish.

    A retry never starts a run twice: a run that already left CONFIGURATION is only waited for. A
    run that ends FAILED fails the task at once (a retry cannot start it again; see the message).

    :param wait_for_completion: wait for FINISHED and return the results.
    :param interrupt_on_timeout: interrupt the run when ``timeout`` passes (default True).
    :param results_lag_timeout: how long to re-read an empty ``results`` after FINISHED.
    :return: results ``{name: value}`` when waited; else the run summary.
    """

    returns_mapping = True
    pseven_run_dataset = "output"

    operator_extra_links = (PsevenRunLink(),)

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        interrupt_on_timeout: bool = True,
        results_lag_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(deferrable=deferrable, poll_interval=poll_interval, timeout=timeout, **kwargs)
        self.wait_for_completion = wait_for_completion
        self.results_lag_timeout = results_lag_timeout
        self.interrupt_on_timeout = interrupt_on_timeout

    def execute(self, context: Any) -> Any:
        client = self.hook.client
        ref = self.ref
        start_run_once(self, ref)
        run = client.get_run(ref)
        PsevenRunLink.persist(context, run.url, ref, run)
        notes.record(self, ref, run)
        if not self.wait_for_completion:
            return run_summary(ref, run)
        return self.wait_for_states(context, ref, ["FINISHED"])

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        run = self.hook.client.get_results(ref, lag_timeout=self.results_lag_timeout)
        results = shown_results(run)
        self.log.info("Run %s finished; results: %s", ref.run_id, results)
        return results


class GetRunResultsOperator(PsevenRunOperator):
    """Read the results of a FINISHED run (re-reading briefly while they are still empty).

    :return: ``{name: value}``, Secrets as ``""``.
    """

    returns_mapping = True
    pseven_run_dataset = "input"

    def __init__(self, *, results_lag_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results_lag_timeout = results_lag_timeout

    def execute(self, context: Any) -> dict[str, Any]:
        run = self.hook.client.get_results(self.ref, lag_timeout=self.results_lag_timeout)
        if run.state is not RunState.FINISHED:
            raise AirflowFailException(
                f"Run {self.ref.run_id} is {run.state_text}; results are available once it is FINISHED"
            )
        assets.attach_run(context, self.hook.client, self.ref, run)
        return shown_results(run)


class InterruptRunOperator(_WaitsForRun, PsevenRunOperator):
    """Interrupt a running run and wait until it stops.

    The API interrupts only RUNNING runs: a run still QUEUED_TO_RUN is watched until it runs, then
    interrupted. A run that has not started, or has already stopped, is left as it is.

    :return: the run's final state.
    """

    def execute(self, context: Any) -> Any:
        client = self.hook.client
        ref = self.ref
        run = client.get_run(ref)
        notes.record(self, ref, run)
        if not run.state.is_active:
            self.log.info("Run %s is %s: nothing to interrupt", ref.run_id, run.state_text)
            return run.state_text
        queued_polls = math.ceil(self.wait_timeout or 600.0)
        if not client.interrupt_if_running(ref, queued_polls=queued_polls, interval=1.0):
            run = client.get_run(ref)
            notes.record(self, ref, run)
            if run.state is RunState.QUEUED_TO_RUN:
                raise AirflowException(
                    f"Run {ref.run_id} stayed QUEUED_TO_RUN for {queued_polls} s; the API interrupts only "
                    "RUNNING runs, so it could not be interrupted"
                )
            self.log.info("Run %s ended %s before it could be interrupted", ref.run_id, run.state_text)
            return run.state_text
        self.log.info("Interrupt sent to run %s", ref.run_id)
        return self.wait_for_states(context, ref, ["INTERRUPTED", "FINISHED", "FAILED"])

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        return summary.get("state")


class DeleteRunOperator(PsevenRunOperator):
    """Delete a run and wait until it is gone (404). A run already gone counts as deleted.

    :param interrupt: interrupt a run that is still running first (default True); otherwise fail.
    :param timeout: seconds to wait for the interrupt and the deletion.
    """

    def __init__(self, *, interrupt: bool = True, timeout: float = 300.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interrupt = interrupt
        self.timeout = positive("timeout", timeout, allow_none=False) or 300.0

    def execute(self, context: Any) -> None:
        client = self.hook.client
        ref = self.ref
        try:
            run = client.get_run(ref)
        except PsevenError:
            run = None
        notes.record(self, ref, run)  # the run as it was when deleted
        if not self.interrupt and run is not None and run.state.is_active:
            raise AirflowFailException(
                f"Run {ref.run_id} is {run.state_text} and cannot be deleted; interrupt it first "
                "(or leave interrupt=True)"
            )
        if client.teardown(ref, polls=math.ceil(self.timeout), interval=1.0):
            self.log.info("Deleted run %s", ref.run_id)
        else:
            self.log.info("Run %s was already gone", ref.run_id)
