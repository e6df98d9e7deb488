"""Operators over one run's lifecycle: deploy, parameters, start, results, interrupt, delete."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_pseven.client import (
    PsevenBadRequestError,
    PsevenClient,
    PsevenNotFoundError,
    PsevenRequestMayHaveSucceeded,
    PsevenStateError,
    Run,
    RunKind,
    RunRef,
    RunState,
)
from airflow_provider_pseven.client.waiting import run_summary
from airflow_provider_pseven.links import PsevenRunLink
from airflow_provider_pseven.operators.base import (
    PsevenBaseOperator,
    PsevenRunOperator,
    WaitingMixin,
    positive,
)
from airflow_provider_pseven.operators.parameters import apply_parameters
from airflow_provider_pseven.triggers.run_state import RunStateTrigger

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._+-]+")
RUN_ID_KEY = "pseven_run_id"


def default_run_name(context: Any) -> str:
    """``airflow <dag> <dag run> <task>[ <map index>]``: the same for every try of one task instance,
    so a retry finds the run its earlier try deployed."""
    ti = context["ti"]
    parts = ["airflow", ti.dag_id, ti.run_id, ti.task_id]
    if getattr(ti, "map_index", -1) is not None and getattr(ti, "map_index", -1) >= 0:
        parts.append(f"m{ti.map_index}")
    return _UNSAFE_NAME.sub("_", " ".join(str(p) for p in parts))[:200]


def resolve_parent(client: PsevenClient, workflow: str | None, app: str | None) -> tuple[RunKind, str]:
    """The kind and id of what to deploy: a workflow (id, path or name) or an app (id or name)."""
    if app is not None:
        return RunKind.APP, client.resolve_app(str(app)).versioned_id
    return RunKind.WORKFLOW, client.resolve_workflow(str(workflow)).id


def _earlier_run(
    client: PsevenClient, context: Any, log: Any, kind: RunKind, parent_id: str, name: str
) -> Run | None:
    """The run an earlier try of this task instance deployed, if any."""
    store = context.get("task_state_store")
    recorded = store.get(RUN_ID_KEY) if store is not None else None
    if recorded:
        try:
            earlier = client.get_run(RunRef(kind, parent_id, str(recorded)))
            log.info("Reusing run %s deployed by an earlier try", earlier.id)
            return earlier
        except PsevenNotFoundError:
            log.info("The run recorded by an earlier try (%s) is gone; deploying anew", recorded)
    run = client.find_run(kind, parent_id, name)
    if run is not None:
        if run.state not in (RunState.QUEUED_TO_INITIALIZE, RunState.CONFIGURATION):
            raise AirflowFailException(
                f"A run named {name!r} already exists and is {run.state_text}; "
                "give a run_name that is not in use, or delete that run"
            )
        log.info("Reusing run %s (%s), deployed earlier under the same name", run.id, name)
    return run


def deploy_or_reuse(
    client: PsevenClient,
    context: Any,
    log: Any,
    kind: RunKind,
    parent_id: str,
    *,
    name: str,
    path: str | None = None,
    personal: bool = False,
) -> Run:
    """Deploy a run once per task instance: a retry finds the run an earlier try deployed."""
    run = _earlier_run(client, context, log, kind, parent_id, name)
    if run is None:
        run = _deploy_named(client, log, kind, parent_id, name, path, personal)
        log.info("Deployed run %s (%s): %s", run.id, run.name, run.state_text)
    store = context.get("task_state_store")
    if store is not None:
        store.set(RUN_ID_KEY, run.id)
    PsevenRunLink.persist(context, run.url)
    return run


def _deploy_named(
    client: PsevenClient,
    log: Any,
    kind: RunKind,
    parent_id: str,
    name: str,
    path: str | None,
    personal: bool,
    attempts: int = 5,
) -> Run:
    """Deploy the run named ``name``, surviving lost answers without ever making two runs.

    A run name is unique in its folder: if an earlier request landed after all, a resent one is
    refused ("already exists") and the run is found by its name. After a lost answer the server is
    watched for a while first, so a request it is still carrying out is not raced.
    """
    for attempt in range(1, attempts + 1):
        try:
            return client.deploy_run(
                kind, parent_id, name=name, path=path, personal=True if personal else None
            )
        except PsevenBadRequestError:
            found = client.find_run(kind, parent_id, name)
            if found is None:
                raise
            log.info("The server already had run %r: an earlier deploy request landed", name)
            return found
        except PsevenRequestMayHaveSucceeded:
            log.warning("The deploy request lost its answer; looking for the run it may have created")
            found = _settle(client, lambda: client.find_run(kind, parent_id, name), lambda r: r is not None)
            if found is not None:
                return found
            if attempt == attempts:
                raise
            log.warning("No run named %r appeared; deploying it again under the same name", name)
    raise AssertionError("unreachable")


def start_once(client: PsevenClient, ref: RunRef, log: Any, deadline: float | None) -> None:
    """Start the run unless it already started; never start it twice, even after a lost answer."""
    run = client.get_run(ref)
    if run.state is RunState.QUEUED_TO_INITIALIZE:
        log.info("Run %s is still initializing; waiting for CONFIGURATION", ref.run_id)
        client.wait_for_run(ref, [RunState.CONFIGURATION], deadline=deadline, interval=1.0)
        run = client.get_run(ref)
    if run.state.has_started:
        log.info("Run %s is already %s: not starting it again", ref.run_id, run.state_text)
        return
    if run.state is not RunState.CONFIGURATION:
        raise AirflowFailException(
            f"Run {ref.run_id} is {run.state_text}; only a CONFIGURATION run can start"
        )
    try:
        client.start_run(ref)
    except PsevenRequestMayHaveSucceeded:
        log.warning("The start request lost its answer; watching the run before deciding to resend it")
        state = _settle(client, lambda: client.get_run(ref).state, lambda s: s is not RunState.CONFIGURATION)
        if state is not RunState.CONFIGURATION:
            log.info("The lost start request did start the run: it is %s", state.value)
            return
        log.warning("The run is still CONFIGURATION well after the lost start request; starting it")
        try:
            client.start_run(ref)
        except PsevenStateError:
            # The lost request reached the server after all, between our last look and now.
            if not client.get_run(ref).state.has_started:
                raise
    log.info("Started run %s", ref.run_id)


def _settle(client: PsevenClient, look: Any, done: Any) -> Any:
    """After a lost answer the server may still be carrying the request out: look again for a while
    (twice the request timeout, at least 5 s) before concluding it did not happen."""
    deadline = time.monotonic() + max(5.0, 2 * client.config.timeout)
    while True:
        seen = look()
        if done(seen) or time.monotonic() >= deadline:
            return seen
        time.sleep(0.5)


class _WaitsForRun(WaitingMixin):
    """Defer-or-poll for a run state, then hand over to :meth:`after_wait`."""

    pseven_conn_id: str

    def wait_for_states(self, context: Any, ref: RunRef, targets: Sequence[str]) -> Any:
        trigger = RunStateTrigger(
            self.pseven_conn_id,
            ref.kind.value,
            ref.parent_id,
            ref.run_id,
            targets,
            deadline=self.deadline(),
            poll_interval=self.poll_interval or 5.0,
        )
        result = self.wait(trigger, "execute_complete", ref)
        return self.after_wait(context, ref, self.check_run_result(result, ref))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        result = self.result_from_event(event)
        ref = RunRef.from_summary(result.payload)
        return self.after_wait(context, ref, self.check_run_result(result, ref))

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        raise NotImplementedError


class DeployRunOperator(_WaitsForRun, PsevenBaseOperator):
    """Deploy a run of a workflow (or AppsHub app), wait for CONFIGURATION, optionally set parameters.

    A retry reuses the run its earlier try deployed: the run id is recorded in the task state store
    and the default run name is the same for every try of the task instance.

    :param workflow: workflow id, storage path (``/Users/1/ToyWorkflow.p7wf``) or unique name.
    :param app: AppsHub app id, ``id@version`` or unique name (instead of ``workflow``).
    :param run_name: the run's name; default ``airflow <dag> <dag run> <task>[ m<map index>]``.
    :param run_path: absolute storage folder for the run (workflows only; needs a name).
    :param personal: AppsHub only: run on the user's resources, not the workspace's.
    :param parameters: ``{name or id: value}`` set once the run is in CONFIGURATION.
    :return: ``{"workflow_id" | "app_id", "run_id", "name", "path", "url", "state"}``
    """

    returns_mapping = True

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
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = 3600.0,
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
        self.parameters = parameters
        self.init_waiting(deferrable, poll_interval, timeout, interrupt_on_timeout=False)

    def execute(self, context: Any) -> Any:
        kind, parent_id = resolve_parent(self.hook.client, self.workflow, self.app)
        run = deploy_or_reuse(
            self.hook.client,
            context,
            self.log,
            kind,
            parent_id,
            name=self.run_name or default_run_name(context),
            path=self.run_path or None,
            personal=self.personal,
        )
        ref = RunRef(kind, parent_id, run.id)
        if run.state is RunState.CONFIGURATION:
            return self.after_wait(context, ref, run_summary(ref, run))
        return self.wait_for_states(context, ref, ["CONFIGURATION"])

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        if self.parameters:
            applied = apply_parameters(self.hook.client, ref, self.parameters)
            self.log.info("Set parameters of run %s: %s", ref.run_id, applied)
        return summary


class PatchParametersOperator(PsevenRunOperator):
    """Set run parameters by name or id, and check they took.

    A Secret not named here is left out of the PATCH, so it keeps its value. Values of Secret
    parameters are masked in logs and shown as ``""`` in the returned XCom.

    :return: the applied values ``{name: value}``, Secrets as ``""``.
    """

    returns_mapping = True

    template_fields: Sequence[str] = (*PsevenRunOperator.template_fields, "parameters")
    template_fields_renderers = {"parameters": "json"}

    def __init__(self, *, parameters: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parameters = parameters

    def execute(self, context: Any) -> dict[str, Any]:
        applied = apply_parameters(self.hook.client, self.ref, self.parameters)
        self.log.info("Set parameters of run %s: %s", self.ref.run_id, applied)
        return applied


class StartRunOperator(_WaitsForRun, PsevenRunOperator):
    """Start a run in CONFIGURATION and (by default) wait for it to finish.

    A retry never starts a run twice: a run that already left CONFIGURATION is only waited for.

    :param wait_for_completion: wait for FINISHED and return the results.
    :param interrupt_on_timeout: interrupt the run when ``timeout`` passes (default True).
    :param results_lag_timeout: how long to re-read an empty ``results`` after FINISHED.
    :return: results ``{name: value}`` when waited; else the run summary.
    """

    returns_mapping = True

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
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.results_lag_timeout = results_lag_timeout
        self.init_waiting(deferrable, poll_interval, timeout, interrupt_on_timeout)

    def execute(self, context: Any) -> Any:
        client = self.hook.client
        ref = self.ref
        start_once(client, ref, self.log, self.deadline())
        run = client.get_run(ref)
        PsevenRunLink.persist(context, run.url)
        if not self.wait_for_completion:
            return run_summary(ref, run)
        return self.wait_for_states(context, ref, ["FINISHED"])

    def after_wait(self, context: Any, ref: RunRef, summary: dict[str, Any]) -> Any:
        run = self.hook.client.get_results(ref, lag_timeout=self.results_lag_timeout)
        results = run.result_values()
        self.log.info("Run %s finished; results: %s", ref.run_id, results)
        return results


class GetRunResultsOperator(PsevenRunOperator):
    """Read the results of a FINISHED run (re-reading briefly while they are still empty).

    :return: ``{name: value}``, Secrets as ``""``.
    """

    returns_mapping = True

    def __init__(self, *, results_lag_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results_lag_timeout = results_lag_timeout

    def execute(self, context: Any) -> dict[str, Any]:
        run = self.hook.client.get_results(self.ref, lag_timeout=self.results_lag_timeout)
        if run.state is not RunState.FINISHED:
            raise AirflowFailException(
                f"Run {self.ref.run_id} is {run.state_text}; results are available once it is FINISHED"
            )
        return run.result_values()


class InterruptRunOperator(_WaitsForRun, PsevenRunOperator):
    """Interrupt a running run and wait until it stops.

    :return: the run's final state (a run already stopped is left as it is).
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

    def execute(self, context: Any) -> Any:
        client = self.hook.client
        ref = self.ref
        run = client.get_run(ref)
        if run.state.is_terminal or run.state is RunState.CONFIGURATION:
            self.log.info("Run %s is %s: nothing to interrupt", ref.run_id, run.state_text)
            return run.state_text
        client.interrupt_run(ref)
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
        except PsevenNotFoundError:
            self.log.info("Run %s is already gone", ref.run_id)
            return
        if not run.state.is_deletable:
            if not self.interrupt:
                raise AirflowFailException(
                    f"Run {ref.run_id} is {run.state_text} and cannot be deleted; interrupt it first"
                )
            if run.state.is_active:
                client.interrupt_run(ref)
                self.log.info("Interrupted run %s before deleting it", ref.run_id)
            client.wait_for_run(
                ref,
                [RunState.CONFIGURATION, RunState.FINISHED, RunState.FAILED, RunState.INTERRUPTED],
                deadline=time.time() + self.timeout,
                interval=1.0,
            )
        if client.delete_run(ref, wait=True, timeout=self.timeout):
            self.log.info("Deleted run %s", ref.run_id)
        else:
            self.log.info("Run %s was already gone", ref.run_id)
