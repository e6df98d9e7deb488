"""Trigger: wait for a published app version to become READY."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_app
from airflow_provider_pseven.triggers.base import PsevenWaitTrigger


@dataclass(eq=False, repr=False)
class AppReadyTrigger(PsevenWaitTrigger):
    """Fires when app ``app_id`` version ``version`` is READY, fails publishing, or the deadline passes."""

    app_id: str
    version: int | None = None

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_app(self.app_id, self.version, deadline=self.deadline, interval=self.poll_interval)
