"""Trigger: wait for a message from a running pSeven run."""

from __future__ import annotations

from typing import Any, Unpack

from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_message
from airflow_provider_pseven.triggers.base import PsevenRunTrigger, WaitSettings


class MessageTrigger(PsevenRunTrigger):
    """Fires with the first message the run sends on ``channel`` (the default channel if None)."""

    def __init__(
        self,
        pseven_conn_id: str,
        kind: str,
        parent_id: str,
        run_id: str,
        channel: str | None = None,
        **wait: Unpack[WaitSettings],
    ) -> None:
        super().__init__(pseven_conn_id, kind, parent_id, run_id, **wait)
        self.channel = channel

    def run_arguments(self) -> dict[str, Any]:
        return {"channel": self.channel}

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_message(self.ref, self.channel, deadline=self.deadline, interval=self.poll_interval)
