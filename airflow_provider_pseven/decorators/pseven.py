"""``@task.pseven``: a Python function computes a run's parameters; the task runs the workflow.

The task is a :class:`RunWorkflowOperator` whose ``parameters`` come from the function: deploy (or
adopt the run an earlier try deployed), set the parameters, upload ``files``, start once, wait
(deferrable), return the results. Airflow finds the decorator through the provider info
(``task-decorators``); :func:`pseven_task` is the same decorator, importable with full type hints.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, overload

from airflow.providers.common.compat.sdk import (
    DecoratedOperator,
    context_merge,
    determine_kwargs,
    task_decorator_factory,
)

from airflow_provider_pseven.client import RunRef
from airflow_provider_pseven.client.outcomes import WaitResult
from airflow_provider_pseven.compat import AirflowFailException
from airflow_provider_pseven.operators.parameters import mask_declared
from airflow_provider_pseven.operators.workflow import RunWorkflowOperator
from airflow_provider_pseven.tasks.runs import discarding_on_failure

if TYPE_CHECKING:
    from airflow.sdk.bases.decorator import Task, TaskDecorator

FParams = ParamSpec("FParams")

EXPECTED_SHAPE = (
    "a dict {parameter name or id: value}, e.g. "
    "return {'MyFirstParameter': 'text', 'MySecondParameter': 3.14}"
)


def checked_parameters(returned: Any, function_name: str) -> dict[str, Any]:
    """The function's return value as the run's parameters, or an error that shows the expected
    shape. Only types and keys are named: a value may be a Secret."""
    where = f"@task.pseven function {function_name}() must return the run's parameters as {EXPECTED_SHAPE}"
    if not isinstance(returned, Mapping):
        raise AirflowFailException(f"{where}; it returned a {type(returned).__name__}")
    bad = [key for key in returned if not isinstance(key, str) or not key]
    if bad:
        shown = ", ".join(f"{key!r} ({type(key).__name__})" for key in bad[:5])
        raise AirflowFailException(f"{where}; its keys must be non-empty strings, not {shown}")
    return dict(returned)


class PsevenDecoratedOperator(DecoratedOperator, RunWorkflowOperator):
    """The operator behind ``@task.pseven``: :class:`RunWorkflowOperator` with the parameters
    returned by ``python_callable``.

    The function runs when the task starts, before anything is deployed, so a wrong shape fails
    the task with no run left behind. Its values are kept nowhere (a value may be a Secret): a task
    that deferred while its run was being deployed calls the function once more when it resumes,
    before it sets the parameters, so the function should be a cheap and repeatable computation
    (put heavy data preparation in an upstream task and pass its output in).
    """

    custom_operator_name: str = "@task.pseven"

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *RunWorkflowOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **RunWorkflowOperator.template_fields_renderers,
    }

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("parameters") is not None:
            raise TypeError(
                "@task.pseven takes no parameters= argument: the decorated function returns the "
                f"run's parameters, as {EXPECTED_SHAPE}"
            )
        kwargs.pop("parameters", None)
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs, **kwargs)

    def call_function(self, context: Any) -> dict[str, Any]:
        """Call the function with its arguments and the context keys it names; check and mask
        what it returns before anything can log it."""
        context_merge(context, self.op_kwargs)
        kwargs = determine_kwargs(self.python_callable, self.op_args, context)
        name = getattr(self.python_callable, "__name__", "decorated")
        parameters = checked_parameters(self.python_callable(*self.op_args, **kwargs), name)
        mask_declared(parameters, self.secret_parameters, rendered=True)
        return parameters

    def execute(self, context: Any) -> Any:
        self.parameters = self.call_function(context)
        return RunWorkflowOperator.execute(self, context)

    def _start(self, context: Any, ref: RunRef, configured: WaitResult | None) -> Any:
        if self.parameters is None:  # resumed after the wait for CONFIGURATION, in a new process
            with discarding_on_failure(self, context, ref):
                self.parameters = self.call_function(context)
        return super()._start(context, ref, configured)


@overload
def pseven_task(python_callable: Callable[FParams, Mapping[str, Any]], /) -> Task[FParams, Any]: ...


@overload
def pseven_task(
    *,
    workflow: str | None = None,
    app: str | None = None,
    files: Sequence[Any] = (),
    upload_destination: str | None = None,
    downloads: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    delete_after: bool = False,
    retry_failed_runs: bool = True,
    secret_parameters: Sequence[str] | None = None,
    run_name: str | None = None,
    run_path: str | None = None,
    personal: bool = False,
    pseven_conn_id: str = "pseven_default",
    deferrable: bool | None = None,
    poll_interval: float = 5.0,
    timeout: float | None = None,
    results_lag_timeout: float = 30.0,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> Callable[[Callable[FParams, Mapping[str, Any]]], Task[FParams, Any]]: ...


def pseven_task(
    python_callable: Callable[..., Mapping[str, Any]] | None = None,
    /,
    *,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Run a pSeven Enterprise workflow (or AppsHub app) with the parameters a function returns.

    ``@task.pseven(workflow="/Users/1/ToyWorkflow.p7wf", files=[...])`` on a function that returns
    ``{parameter name or id: value}``; the task returns the run's results ``{name: value}`` (Secrets
    as ``""``), each also its own XCom unless ``multiple_outputs=False``, and pushes the run's
    address under the XCom key ``pseven_run``. ``.partial()`` and ``.expand()`` map it: one run per
    mapped task instance, a parameter sweep.

    Every keyword is :class:`~airflow_provider_pseven.operators.RunWorkflowOperator`'s (except
    ``parameters``, which the function returns) or a standard ``BaseOperator`` argument:

    :param workflow: workflow id, storage path or unique name (or ``app``: an AppsHub app).
    :param files: files to upload before the start (templated): paths, object-storage URLs,
        ``(source, name)`` pairs.
    :param downloads: ``{file in the run: destination}`` fetched after FINISHED.
    :param secret_parameters: names or ids of Secret parameters: masked as soon as the function
        returns them.
    :param delete_after: delete the run at the end, whether it succeeded or not.
    :param deferrable: wait in the triggerer (default: Airflow's ``operators.default_deferrable``).
    """
    decorator: TaskDecorator = task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=True if multiple_outputs is None else multiple_outputs,
        decorated_operator_class=PsevenDecoratedOperator,
        **kwargs,
    )
    return decorator


__all__ = ["EXPECTED_SHAPE", "PsevenDecoratedOperator", "checked_parameters", "pseven_task"]
