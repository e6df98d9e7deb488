"""A task's own run: its default name, deploy-or-adopt through the task state store, start once,
and the deletion of a run whose set-up failed. Used by DeployRunOperator, StartRunOperator and
RunWorkflowOperator; the rules themselves are client operations (client/lifecycle.py)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client import Parameter, PsevenError, Run, RunKind, RunRef
from airflow_provider_pseven.client.errors import PsevenRunStateError
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.links import PsevenRunLink
from airflow_provider_pseven.tasks.retries import PERMANENT_ERRORS, TaskStateMemory, will_retry

if TYPE_CHECKING:
    from airflow_provider_pseven.client.sync import PsevenClient

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._+-]+")
#: The task state store key under which a task remembers the run it deployed.
RUN_KEY = "pseven_run"


def default_run_name(context: Any) -> str:
    """``airflow <dag> <dag run> <task>[ m<map index>] t<try>-<token>``.

    Readable in Studio, and unique to one try of one task instance: the random token is what lets a
    task tell the run it deployed from any other run (the guide does not promise that run names are
    unique, and a user may well name a run like ours).
    """
    ti = context["ti"]
    parts = ["airflow", ti.dag_id, ti.run_id, ti.task_id]
    if getattr(ti, "map_index", -1) is not None and getattr(ti, "map_index", -1) >= 0:
        parts.append(f"m{ti.map_index}")
    suffix = f" t{getattr(ti, 'try_number', 1)}-{secrets.token_hex(3)}"
    return _UNSAFE_NAME.sub("_", " ".join(str(p) for p in parts))[: 200 - len(suffix)] + suffix


def resolve_parent(
    client: PsevenClient, workflow: str | None, app: str | None, parameters: Mapping[str, Any] | None = None
) -> tuple[RunKind, str]:
    """The kind and id of what to deploy: a workflow (id, path or name) or an app (id, pinned
    ``id@N`` or name), an app by its plain id (see ``app_to_deploy``).

    An app version lists its parameters, so their names are checked here, before a run exists.
    """
    if app is not None:
        from airflow_provider_pseven.client.parameters import match_parameters

        version = client.app_to_deploy(str(app))
        listed = version.raw.get("parameters")
        if parameters and isinstance(listed, list) and listed:
            match_parameters([Parameter.from_json(p) for p in listed if isinstance(p, Mapping)], parameters)
        return RunKind.APP, version.id
    return RunKind.WORKFLOW, client.resolve_workflow(str(workflow)).id


def deploy_for_task(
    task: Any,
    context: Any,
    kind: RunKind,
    parent_id: str,
    *,
    run_name: str | None,
    path: str | None = None,
    personal: bool = False,
) -> Run:
    """Deploy the task's run, or adopt the live one an earlier try of this task instance deployed."""
    from airflow_provider_pseven.client.lifecycle import DeploySpec, settle_polls

    client = task.hook.client
    settle = max(5.0, 2 * client.config.timeout)
    spec = DeploySpec(
        kind,
        parent_id,
        run_name or default_run_name(context),
        own_name=not run_name,
        path=path,
        personal=personal,
        settle_polls=settle_polls(settle, 0.5),
    )
    if context.get("task_state_store") is None:
        task.log.warning("No task state store (Airflow before 3.3): a retry of this task deploys a new run")
    deployed = client.deploy_or_adopt(spec, TaskStateMemory(context, RUN_KEY))
    run = deployed.run
    if not deployed.adopted:
        task.log.info("Deployed run %s (%s): %s", run.id, run.name, run.state_text)
    PsevenRunLink.persist(context, run.url, RunRef(kind, parent_id, run.id), run)
    return run


def discard_failed_run(task: Any, context: Any, ref: RunRef, error: BaseException) -> None:
    """After the task's own set-up of a run it deployed failed: delete the run unless a retry will
    use it, so a failed DAG leaves no orphan runs behind. A retry can use it only if the error is one
    a retry can fix and Airflow will retry the task."""
    permanent = isinstance(error, (*PERMANENT_ERRORS, AirflowFailException))
    # Without a task state store (Airflow before 3.3) the retry cannot find this run: don't keep it.
    adoptable = context.get("task_state_store") is not None
    if not permanent and adoptable and will_retry(context):
        task.log.info("Keeping run %s for the next try of this task", ref.run_id)
        return
    why = (
        "a retry cannot fix this error"
        if permanent
        else "this was the task's last try"
        if adoptable
        else "a retry could not find it (no task state store before Airflow 3.3)"
    )
    try:
        task.hook.client.teardown(ref)
    except PsevenError as failure:
        task.log.error("Run %s is left on the server (%s); deleting it failed: %s", ref.run_id, why, failure)
        return
    TaskStateMemory(context, RUN_KEY).forget()
    task.log.warning("Deleted run %s, which this task deployed, because %s", ref.run_id, why)


@contextmanager
def discarding_on_failure(task: Any, context: Any, ref: RunRef) -> Iterator[None]:
    """Run a set-up step; if it fails, :func:`discard_failed_run` first. A deferral is no failure."""
    try:
        yield
    except Exception as error:
        discard_failed_run(task, context, ref, error)
        raise


def start_run_once(task: Any, ref: RunRef) -> None:
    """Start the run unless it already started (a retry never starts it twice)."""
    from airflow_provider_pseven.client.lifecycle import settle_polls

    client = task.hook.client
    settle = settle_polls(max(5.0, 2 * client.config.timeout), 0.5)
    try:
        client.start_once(ref, settle=settle)
    except PsevenRunStateError as error:
        raise AirflowFailException(str(error)) from None


__all__ = [
    "RUN_KEY",
    "default_run_name",
    "deploy_for_task",
    "discard_failed_run",
    "discarding_on_failure",
    "resolve_parent",
    "start_run_once",
]
