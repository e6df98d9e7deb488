"""The API server's pSeven clients: one per Airflow connection, read again after a minute (a
rotated token or an edited host applies without a restart), built through :class:`PsevenHook`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from airflow_provider_pseven.client import PsevenClient, PsevenError

REREAD_AFTER = 60.0


class MissingConnection(LookupError):
    """The connection the task used is gone (or unreadable): said in words on the tab."""


def _hook_client(conn_id: str) -> PsevenClient:
    from airflow_provider_pseven.hooks.pseven import PsevenHook

    try:
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import AirflowNotFoundException  # type: ignore[no-redef,attr-defined,unused-ignore]
    try:
        return PsevenHook(conn_id).client
    except AirflowNotFoundException:
        raise MissingConnection(
            f"The task's connection {conn_id!r} does not exist (any more) in Airflow: add it again "
            "(Admin > Connections) to see this run"
        ) from None
    except PsevenError as error:
        raise MissingConnection(f"Connection {conn_id!r} cannot be used: {error}") from None


class Clients:
    def __init__(
        self,
        make: Callable[[str], PsevenClient] = _hook_client,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make = make
        self._clock = clock
        self._clients: dict[str, tuple[float, PsevenClient]] = {}
        self._lock = threading.Lock()

    def __call__(self, conn_id: str) -> PsevenClient:
        with self._lock:
            held = self._clients.get(conn_id)
            if held is not None and self._clock() - held[0] < REREAD_AFTER:
                return held[1]
        client = self._make(conn_id)
        with self._lock:
            # The old client may still be serving a download: it is left to the garbage collector.
            self._clients[conn_id] = (self._clock(), client)
        return client
