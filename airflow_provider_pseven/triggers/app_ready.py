"""Trigger: wait for a published app version to become READY."""

from __future__ import annotations

from typing import Any, Unpack

from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.waiting import WaitResult, wait_for_app
from airflow_provider_pseven.triggers.base import PsevenWaitTrigger, WaitSettings


class AppReadyTrigger(PsevenWaitTrigger):
    """Fires when app ``app_id`` version ``version`` is READY, fails publishing, or the deadline passes."""

    def __init__(
        self, pseven_conn_id: str, app_id: str, version: int | None = None, **wait: Unpack[WaitSettings]
    ) -> None:
        super().__init__(pseven_conn_id, **wait)
        self.app_id = app_id
        self.version = version

    def arguments(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "version": self.version}

    def waiting_op(self) -> Op[WaitResult]:
        return wait_for_app(self.app_id, self.version, deadline=self.deadline, interval=self.poll_interval)
