"""Trigger: watch a run a task gave up on while it was QUEUED_TO_RUN, and interrupt it once it runs."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_pseven.client import RunRef
from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, interrupt_once_running
from airflow_provider_pseven.triggers.base import PsevenRunTrigger


@dataclass(eq=False, repr=False)
class QueuedRunTrigger(PsevenRunTrigger):
    """The guide allows neither interrupt nor delete while a run is QUEUED_TO_RUN, so a task that
    timed out then hands its run to this trigger instead of leaving it to run unwatched.

    Fires once the run has left the queue (``success``: interrupted as soon as it was RUNNING, or
    ended by itself), or at ``deadline`` (``timeout``: it is still queued and stays so, unwatched).
    The event's ``message`` says which.
    """

    @classmethod
    def for_run(
        cls, pseven_conn_id: str, ref: RunRef, *, deadline: float, poll_interval: float
    ) -> QueuedRunTrigger:
        return cls(
            pseven_conn_id,
            ref.kind.value,
            ref.parent_id,
            ref.run_id,
            deadline=deadline,
            poll_interval=poll_interval,
        )

    def waiting_op(self) -> Op[WaitResult]:
        return interrupt_once_running(self.ref, deadline=self.deadline, interval=self.poll_interval)
