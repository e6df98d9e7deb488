"""SweepTrigger: one trigger runs a whole parameter sweep (see airflow_provider_pseven/sweeps/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pseven.client import (
    PsevenConfigError,
    PsevenError,
    PsevenLookupError,
    RunKind,
)
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.sweeps.points import Sweep, stop_all
from airflow_provider_pseven.sweeps.runner import SweepInvalid, SweepPlan, SweepRunner
from airflow_provider_pseven.sweeps.tables import TableError

#: Errors no retry can mend: the event says ``invalid`` and the task fails at once. An
#: authentication error is not one: a retry of the task reads the connection again (a rotated
#: token) and resumes the sweep.
INVALID = (SweepInvalid, TableError, PsevenConfigError, PsevenLookupError)
#: The constructor arguments the trigger keeps as attributes; the others are its :class:`SweepPlan`.
_OWN_ARGUMENTS = (
    "pseven_conn_id",
    "kind",
    "parent_id",
    "prefix",
    "retries_per_point",
    "poll_interval",
    "deadline",
    "results_lag_timeout",
)


class SweepTrigger(BaseTrigger):
    """Keeps up to ``max_active_runs`` runs of the sweep live, deploying, configuring and starting
    the next points as earlier ones end; every live run is watched through the client's shared list
    polls. Fires one event when the sweep ends: ``success``, ``failed`` (more failed points than
    allowed), ``timeout`` (the deadline passed; live runs were stopped), ``invalid`` (the table does
    not fit the workflow; nothing is left deployed) or ``error`` (a retry of the task resumes).

    Restarting it (a triggerer restart, a retried task) resumes the sweep: its runs are found on the
    server by name and its ended points in the stored parts. Killing the task (mark failed, clear;
    Airflow 3.3+ calls :meth:`on_kill`) stops every live run of the sweep and logs which.
    """

    def __init__(
        self,
        pseven_conn_id: str,
        kind: str,
        parent_id: str,
        prefix: str,
        table: str,
        work: str,
        points: int,
        columns: dict[str, int],
        max_active_runs: int,
        retries_per_point: int = 0,
        max_failed_points: int | float = 0,
        keep_runs: str = "failed",
        poll_interval: float = 5.0,
        deadline: float | None = None,
        results_lag_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self.pseven_conn_id = pseven_conn_id
        self.kind = kind
        self.parent_id = parent_id
        self.prefix = prefix
        self.plan = SweepPlan(
            table, work, points, dict(columns), max_active_runs, max_failed_points, keep_runs
        )
        self.retries_per_point = retries_per_point
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.results_lag_timeout = results_lag_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {name: getattr(self, name) for name in _OWN_ARGUMENTS}
        return f"{type(self).__module__}.{type(self).__qualname__}", {**kwargs, **asdict(self.plan)}

    @property
    def sweep(self) -> Sweep:
        # Import late: the operators package imports this module.
        from airflow_provider_pseven.operators.parameters import mask_value

        return Sweep(
            RunKind(self.kind),
            self.parent_id,
            self.prefix,
            max_attempts=self.retries_per_point + 1,
            deadline=self.deadline,
            interval=self.poll_interval,
            lag_timeout=self.results_lag_timeout,
            mask=mask_value,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # tasks.waiting imports the triggers package, which imports this module: import it late.
        from airflow_provider_pseven.tasks.waiting import failure_reason

        try:
            client = await PsevenHook(self.pseven_conn_id).get_async_client()
            runner = SweepRunner(client, self.sweep, self.plan, reason=failure_reason, log=self.log)
            outcome = await runner.run()
        except INVALID as error:
            yield TriggerEvent({"status": "invalid", "message": str(error)})
            return
        except (PsevenError, OSError) as error:
            yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})
            return
        yield TriggerEvent(outcome)

    async def on_kill(self) -> None:
        """The user killed the task: stop every live run of the sweep, naming each."""
        client = await PsevenHook(self.pseven_conn_id).get_async_client()
        try:
            stopped = await client.run(stop_all(self.sweep))
        except PsevenError as error:
            self.log.warning("Could not stop the sweep's runs (prefix %s): %s", self.prefix, error)
            return
        self.log.info("The task was killed; stopped %d live runs of the sweep", len(stopped))
        for line in stopped:
            self.log.info("Stopped run %s", line)
