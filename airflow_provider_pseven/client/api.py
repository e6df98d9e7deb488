"""The API's methods, listed once for both drivers.

Each operation is a generator of Calls; :class:`Operation` makes it a method of a client that has
``run(op)``. On :class:`~.sync.PsevenClient` the method returns the result, on
:class:`~.aio.AsyncPsevenClient` a coroutine of it, so both drivers expose the same names and
signatures from this one table and cannot drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from airflow_provider_pseven.client import appshub, lifecycle, parameters, run_files, waiting
from airflow_provider_pseven.client import operations as ops
from airflow_provider_pseven.client.calls import Op

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


class AsyncDriver(Protocol):
    """What :class:`~.aio.AsyncPsevenClient` is to this table: ``run`` returns a coroutine. Named
    by shape, so the table does not import the drivers that import it."""

    async def run(self, op: Op[R]) -> R: ...


class SyncDriver(Protocol):
    """What :class:`~.sync.PsevenClient` is to this table: ``run`` returns the result."""

    def run(self, op: Op[R]) -> R: ...


class Operation(Generic[P, T]):
    """A descriptor: ``client.name(*args)`` is ``client.run(op(*args))``."""

    def __init__(self, op: Callable[P, Op[T]]) -> None:
        self.op = op
        self.__doc__ = op.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Operation[P, T]: ...

    @overload
    def __get__(
        self, client: AsyncDriver, owner: type[Any] | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    @overload
    def __get__(self, client: SyncDriver, owner: type[Any] | None = None) -> Callable[P, T]: ...

    def __get__(self, client: Any, owner: type[Any] | None = None) -> Any:
        if client is None:
            return self
        op, run = self.op, client.run

        @functools.wraps(op)
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(op(*args, **kwargs))

        return method


class PsevenApi:
    """The pSeven REST API v2, as methods of a client (see :class:`Operation`)."""

    list_workflows = Operation(ops.list_workflows)
    get_workflow = Operation(ops.get_workflow)
    resolve_workflow = Operation(ops.resolve_workflow)
    list_apps = Operation(appshub.list_apps)
    get_app = Operation(appshub.get_app)
    resolve_app = Operation(appshub.resolve_app)
    app_to_deploy = Operation(appshub.app_to_deploy)
    publish_app = Operation(appshub.publish_app)
    list_runs = Operation(ops.list_runs)
    find_run = Operation(ops.find_run)
    deploy_run = Operation(ops.deploy_run)
    get_run = Operation(ops.get_run)
    set_parameters = Operation(parameters.set_parameters)
    start_run = Operation(ops.start_run)
    interrupt_run = Operation(ops.interrupt_run)
    interrupt_if_running = Operation(lifecycle.interrupt_if_running)
    stop_run = Operation(lifecycle.stop_run)
    interrupt_once_running = Operation(waiting.interrupt_once_running)
    deploy_or_adopt = Operation(lifecycle.deploy_or_adopt)
    start_once = Operation(lifecycle.start_once)
    teardown = Operation(lifecycle.teardown)
    delete_run = Operation(ops.delete_run)
    get_results = Operation(ops.get_results)
    download = Operation(run_files.download)
    read_log_tail = Operation(run_files.read_log_tail)
    run_log_tail = Operation(run_files.run_log_tail)
    list_files = Operation(run_files.list_files)
    walk = Operation(run_files.walk)
    upload = Operation(run_files.upload)
    message_push = Operation(ops.message_push)
    message_pop = Operation(ops.message_pop)
    wait_for_run = Operation(waiting.wait_for_run)
    wait_for_app = Operation(waiting.wait_for_app)
    wait_for_message = Operation(waiting.wait_for_message)
