"""A pure-Python client for pSeven Enterprise REST API v2 (no Airflow imports).

``PsevenClient`` (requests) and ``AsyncPsevenClient`` (httpx) expose the same methods; both run the
operations of :mod:`airflow_provider_pseven.client.operations`, where each endpoint is described once.

Every name but the errors is imported on first use (PEP 562): a worker imports only the modules
its operators use, never httpx (the async driver, for the triggerer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The errors are needed wherever the client is: imported at once (one small module).
from airflow_provider_pseven.client.errors import (
    PsevenApiNotFoundError,
    PsevenAuthError,
    PsevenBadAnswerError,
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenError,
    PsevenHTTPError,
    PsevenLookupError,
    PsevenNotFoundError,
    PsevenNotJsonError,
    PsevenProxyError,
    PsevenRequestMayHaveSucceeded,
    PsevenServerError,
    PsevenStateError,
    PsevenTransportError,
    PsevenTreeLimitError,
    PsevenUnsafeNameError,
    PsevenUnsafeURLError,
    PsevenWaitTimeout,
)
from airflow_provider_pseven.exports import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_pseven.client.aio import AsyncPsevenClient
    from airflow_provider_pseven.client.appshub import AppPublication
    from airflow_provider_pseven.client.config import ClientConfig, normalize_sign_in_url
    from airflow_provider_pseven.client.models import (
        AppState,
        AppVersion,
        FileEntry,
        Parameter,
        Run,
        RunKind,
        RunState,
        UploadResult,
        Workflow,
    )
    from airflow_provider_pseven.client.refs import RunRef
    from airflow_provider_pseven.client.retry import RetryPolicy
    from airflow_provider_pseven.client.sync import PsevenClient
    from airflow_provider_pseven.client.transfer import FileSink, StreamSink, TailSink


__getattr__ = lazy_exports(
    __name__,
    globals(),
    aio=("AsyncPsevenClient",),
    appshub=("AppPublication",),
    config=("ClientConfig", "normalize_sign_in_url"),
    models=(
        "AppState",
        "AppVersion",
        "FileEntry",
        "Parameter",
        "Run",
        "RunKind",
        "RunState",
        "UploadResult",
        "Workflow",
    ),
    refs=("RunRef",),
    retry=("RetryPolicy",),
    sync=("PsevenClient",),
    transfer=("FileSink", "StreamSink", "TailSink"),
)


__all__ = [
    "AppPublication",
    "AppState",
    "AppVersion",
    "AsyncPsevenClient",
    "ClientConfig",
    "FileEntry",
    "FileSink",
    "Parameter",
    "PsevenApiNotFoundError",
    "PsevenAuthError",
    "PsevenBadAnswerError",
    "PsevenBadRequestError",
    "PsevenClient",
    "PsevenConfigError",
    "PsevenError",
    "PsevenHTTPError",
    "PsevenLookupError",
    "PsevenNotFoundError",
    "PsevenNotJsonError",
    "PsevenProxyError",
    "PsevenRequestMayHaveSucceeded",
    "PsevenServerError",
    "PsevenStateError",
    "PsevenTransportError",
    "PsevenTreeLimitError",
    "PsevenUnsafeNameError",
    "PsevenUnsafeURLError",
    "PsevenWaitTimeout",
    "RetryPolicy",
    "Run",
    "RunKind",
    "RunRef",
    "RunState",
    "StreamSink",
    "TailSink",
    "UploadResult",
    "Workflow",
    "normalize_sign_in_url",
]
