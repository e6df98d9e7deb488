"""Trigger: wait for a published app version to become READY."""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_app
from airflow_provider_pseven.triggers.base import PsevenWaitTrigger


class AppReadyTrigger(PsevenWaitTrigger):
    """Fires when app ``app_id`` version ``version`` is READY, fails publishing, or the deadline passes."""

    def __init__(
        self,
        pseven_conn_id: str,
        app_id: str,
        version: int | None = None,
        *,
        deadline: float | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(pseven_conn_id, deadline=deadline, poll_interval=poll_interval)
        self.app_id = app_id
        self.version = version

    def arguments(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "version": self.version}

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_app(self.app_id, self.version, deadline=self.deadline, interval=self.poll_interval)
