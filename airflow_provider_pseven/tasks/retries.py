"""How pSeven tasks meet Airflow's retries: no retry for mistakes, memory across tries, the last try."""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven.client import (
    PsevenApiNotFoundError,
    PsevenAuthError,
    PsevenConfigError,
    PsevenError,
    PsevenLookupError,
    PsevenNotJsonError,
    PsevenUnsafeURLError,
)

#: Errors that a retry cannot mend: with Airflow's retry policy the task fails at once instead of
#: using up its retries (the exception keeps its type and message).
PERMANENT_ERRORS: tuple[type[PsevenError], ...] = (
    PsevenConfigError,
    PsevenLookupError,
    PsevenAuthError,
    PsevenNotJsonError,
    PsevenApiNotFoundError,
    PsevenUnsafeURLError,
)


def permanent_error_policy() -> Any:
    """The default ``retry_policy`` of pSeven tasks: no retry for a mistake only a person can fix.

    None on Airflow before 3.3, which has no retry policies (such tasks use their plain retries).
    """
    try:
        from airflow_provider_pseven.compat import ExceptionRetryPolicy, RetryAction, RetryRule
    except ImportError:  # pragma: no cover - Airflow < 3.3
        return None
    return ExceptionRetryPolicy(
        rules=[
            RetryRule(
                exception=[f"{e.__module__}.{e.__qualname__}" for e in PERMANENT_ERRORS],
                action=RetryAction.FAIL,
                reason="a retry cannot fix this: correct the DAG, the connection or the server address",
            )
        ]
    )


def with_default_retry_policy(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Add the permanent-error retry policy unless the task brings its own (or Airflow has none).

    ``None`` counts as none given: it is Airflow's own default, and a mapped task's partial
    arguments always carry it, so ``.partial().expand()`` tasks get the policy too.
    """
    if kwargs.get("retry_policy") is None:
        policy = permanent_error_policy()
        if policy is not None:
            kwargs["retry_policy"] = policy
    return kwargs


class TaskStateMemory:
    """:class:`~airflow_provider_pseven.client.lifecycle.RunMemory` over Airflow's task state store.

    It survives between the tries of one task instance (Airflow 3.3+). A try that succeeds forgets
    its record, so clearing the task later starts afresh; without a store, nothing is remembered.
    """

    def __init__(self, context: Any, key: str) -> None:
        self.store = context.get("task_state_store")
        self.key = key

    def get(self) -> Any:
        return self.store.get(self.key) if self.store is not None else None

    def set(self, record: Any) -> None:
        if self.store is not None:
            self.store.set(self.key, record)

    def forget(self) -> None:
        if self.store is not None:
            self.store.delete(self.key)


def will_retry(context: Any) -> bool:
    """Whether Airflow will try this task instance again if the current try fails."""
    ti = context.get("ti")
    task = context.get("task")
    max_tries = getattr(ti, "max_tries", None)
    if not isinstance(max_tries, int):
        max_tries = getattr(task, "retries", 0) or 0
    try_number = getattr(ti, "try_number", 1)
    return isinstance(try_number, int) and try_number <= max_tries
