"""Trigger: wait for a pSeven run to reach a state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from airflow_provider_pseven.client import PsevenError, RunRef, RunState
from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_run
from airflow_provider_pseven.compat import conf
from airflow_provider_pseven.triggers.base import PsevenRunTrigger


@dataclass(eq=False, repr=False)
class RunStateTrigger(PsevenRunTrigger):
    """Fires when the run reaches one of ``target_states`` (``success``), one of ``failure_states``
    or another terminal state (``failed``), or the absolute ``deadline`` passes (``timeout``).

    When a user kills the deferred task (mark failed / success, clear; Airflow 3.3+), ``on_kill``
    interrupts the pSeven run if ``interrupt_on_kill``.
    """

    target_states: Sequence[str] = ("FINISHED",)
    failure_states: Sequence[str] = ("FAILED", "INTERRUPTED")
    interrupt_on_kill: bool = field(default=True, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.target_states = [RunState(s).value for s in self.target_states]
        self.failure_states = [RunState(s).value for s in self.failure_states]

    @classmethod
    def for_run(
        cls,
        pseven_conn_id: str,
        ref: RunRef,
        target_states: Sequence[str],
        failure_states: Sequence[str] = ("FAILED", "INTERRUPTED"),
        *,
        deadline: float | None,
        poll_interval: float,
        interrupt_on_kill: bool = True,
    ) -> RunStateTrigger:
        """The trigger waiting for ``ref``: the one way operators and sensors build it."""
        return cls(
            pseven_conn_id,
            ref.kind.value,
            ref.parent_id,
            ref.run_id,
            target_states,
            failure_states,
            deadline=deadline,
            poll_interval=poll_interval,
            interrupt_on_kill=interrupt_on_kill,
        )

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_run(
            self.ref,
            [RunState(s) for s in self.target_states],
            [RunState(s) for s in self.failure_states],
            deadline=self.deadline,
            interval=self.poll_interval,
        )

    async def on_kill(self) -> None:
        """The user killed the task: interrupt the pSeven run so it stops using resources.

        The triggerer gives ``on_kill`` ``[triggerer] on_kill_timeout`` seconds (30 by default); a
        run QUEUED_TO_RUN, which the API can neither interrupt nor delete, is watched for most of
        them, and then the log names it and its URL.
        """
        if not self.interrupt_on_kill:
            return
        client = await self.client()
        polls = max(1, conf.getint("triggerer", "on_kill_timeout", fallback=30) - 5)
        try:
            stopped = await client.stop_run(self.ref, queued_polls=polls, interval=1.0)
        except PsevenError as error:
            self.log.warning("Could not interrupt pSeven run %s: %s", self.ref.run_id, error)
            return
        if stopped.interrupted:
            self.log.info("Interrupted pSeven run %s because its task was killed", self.ref.run_id)
        elif stopped.left_queued:
            self.log.error(
                "pSeven run %s (%s) is still QUEUED_TO_RUN after %.0f s, where the API can neither "
                "interrupt nor delete it: it will run unwatched. Interrupt it once it runs "
                "(InterruptRunOperator or pSeven Studio)",
                self.ref.run_id,
                stopped.run.url,
                stopped.waited,
            )
