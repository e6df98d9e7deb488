"""A pure-Python client for pSeven Enterprise REST API v2 (no Airflow imports).

``PsevenClient`` (requests) and ``AsyncPsevenClient`` (httpx) expose the same methods; both run the
operations of :mod:`airflow_provider_pseven.client.operations`, where each endpoint is described once.

The two drivers are imported on first use of their names (PEP 562): a worker that only builds an
operator, or runs one without the async client, never imports httpx or the endpoint table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client.appshub import AppPublication
from airflow_provider_pseven.client.config import ClientConfig, normalize_sign_in_url
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
from airflow_provider_pseven.client.transfer import FileSink, StreamSink, TailSink

if TYPE_CHECKING:
    from airflow_provider_pseven.client.aio import AsyncPsevenClient
    from airflow_provider_pseven.client.sync import PsevenClient

#: The names imported on first use, and the module each is in.
_DRIVERS = {"AsyncPsevenClient": "aio", "PsevenClient": "sync"}


def __getattr__(name: str) -> Any:
    module = _DRIVERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
