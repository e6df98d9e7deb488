"""Operators of the pSeven Enterprise provider."""

from __future__ import annotations

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
