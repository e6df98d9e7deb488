"""Trigger: wait for a message from a running pSeven run."""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven.client import RunKind, RunRef
from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_message
from airflow_provider_pseven.triggers.base import PsevenWaitTrigger


class MessageTrigger(PsevenWaitTrigger):
    """Fires with the first message the run sends on ``channel`` (the default channel if None)."""

    def __init__(
        self,
        pseven_conn_id: str,
        kind: str,
        parent_id: str,
        run_id: str,
        channel: str | None = None,
        *,
        deadline: float | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(pseven_conn_id, deadline=deadline, poll_interval=poll_interval)
        self.ref = RunRef(RunKind(kind), parent_id, run_id)
        self.channel = channel

    def arguments(self) -> dict[str, Any]:
        return {
            "kind": self.ref.kind.value,
            "parent_id": self.ref.parent_id,
            "run_id": self.ref.run_id,
            "channel": self.channel,
        }

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_message(self.ref, self.channel, deadline=self.deadline, interval=self.poll_interval)
