"""Operators of the pSeven Enterprise provider.

Each name is imported on first use (:mod:`airflow_provider_pseven.exports`): a DAG file that uses
one operator imports that operator's module, not the sweep's or the file transfers'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_pseven.exports import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_pseven.operators.apps import PublishAppOperator
    from airflow_provider_pseven.operators.files import (
        DownloadFileOperator,
        ListFilesOperator,
        UploadFilesOperator,
    )
    from airflow_provider_pseven.operators.messages import MessagePushOperator
    from airflow_provider_pseven.operators.runs import (
        DeleteRunOperator,
        DeployRunOperator,
        GetRunResultsOperator,
        InterruptRunOperator,
        PatchParametersOperator,
        StartRunOperator,
    )
    from airflow_provider_pseven.operators.sweep import RunSweepOperator
    from airflow_provider_pseven.operators.workflow import RunWorkflowOperator

__getattr__ = lazy_exports(
    __name__,
    globals(),
    apps=("PublishAppOperator",),
    files=("DownloadFileOperator", "ListFilesOperator", "UploadFilesOperator"),
    messages=("MessagePushOperator",),
    runs=(
        "DeleteRunOperator",
        "DeployRunOperator",
        "GetRunResultsOperator",
        "InterruptRunOperator",
        "PatchParametersOperator",
        "StartRunOperator",
    ),
    sweep=("RunSweepOperator",),
    workflow=("RunWorkflowOperator",),
)

__all__ = [
    "DeleteRunOperator",
    "DeployRunOperator",
    "DownloadFileOperator",
    "GetRunResultsOperator",
    "InterruptRunOperator",
    "ListFilesOperator",
    "MessagePushOperator",
    "PatchParametersOperator",
    "PublishAppOperator",
    "RunSweepOperator",
    "RunWorkflowOperator",
    "StartRunOperator",
    "UploadFilesOperator",
]
