"""Triggers of the pSeven Enterprise provider (they run in the triggerer's event loop)."""

from __future__ import annotations

from airflow_provider_pseven.triggers.app_ready import AppReadyTrigger
from airflow_provider_pseven.triggers.base import PsevenWaitTrigger
from airflow_provider_pseven.triggers.message import MessageTrigger
from airflow_provider_pseven.triggers.queued_run import QueuedRunTrigger
from airflow_provider_pseven.triggers.run_event import RunEventTrigger
from airflow_provider_pseven.triggers.run_state import RunStateTrigger
from airflow_provider_pseven.triggers.sweep import SweepTrigger

__all__ = [
    "AppReadyTrigger",
    "MessageTrigger",
    "PsevenWaitTrigger",
    "QueuedRunTrigger",
    "RunEventTrigger",
    "RunStateTrigger",
    "SweepTrigger",
]
