"""Trigger: wait for a message from a running pSeven run."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_message
from airflow_provider_pseven.triggers.base import PsevenRunTrigger


@dataclass(eq=False, repr=False)
class MessageTrigger(PsevenRunTrigger):
    """Fires with the first message the run sends on ``channel`` (the default channel if None)."""

    channel: str | None = None

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_message(self.ref, self.channel, deadline=self.deadline, interval=self.poll_interval)
