"""Triggers of the pSeven Enterprise provider (they run in the triggerer's event loop).

Each name is imported on first use (:mod:`airflow_provider_pseven.exports`): the triggerer imports a
trigger class by its module path on its event loop, and should import that trigger's module alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_pseven.exports import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_pseven.triggers.app_ready import AppReadyTrigger
    from airflow_provider_pseven.triggers.base import PsevenWaitTrigger
    from airflow_provider_pseven.triggers.message import MessageTrigger
    from airflow_provider_pseven.triggers.queued_run import QueuedRunTrigger
    from airflow_provider_pseven.triggers.run_event import RunEventTrigger
    from airflow_provider_pseven.triggers.run_state import RunStateTrigger
    from airflow_provider_pseven.triggers.sweep import SweepTrigger

__getattr__ = lazy_exports(
    __name__,
    globals(),
    app_ready=("AppReadyTrigger",),
    base=("PsevenWaitTrigger",),
    message=("MessageTrigger",),
    queued_run=("QueuedRunTrigger",),
    run_event=("RunEventTrigger",),
    run_state=("RunStateTrigger",),
    sweep=("SweepTrigger",),
)

__all__ = [
    "AppReadyTrigger",
    "MessageTrigger",
    "PsevenWaitTrigger",
    "QueuedRunTrigger",
    "RunEventTrigger",
    "RunStateTrigger",
    "SweepTrigger",
]
