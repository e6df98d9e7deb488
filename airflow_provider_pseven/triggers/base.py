"""The shape every pSeven trigger shares: run one waiting operation on the loop's shared client."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any, TypedDict, Unpack

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pseven.client import AsyncPsevenClient, PsevenAuthError, PsevenError, RunKind, RunRef
from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.outcomes import WaitResult
from airflow_provider_pseven.hooks.pseven import PsevenHook


def _error_event(error: PsevenError) -> TriggerEvent:
    return TriggerEvent({"status": "error", "state": "", "payload": {}, "message": str(error)})


class WaitSettings(TypedDict, total=False):
    """How a trigger waits, passed on by every trigger to :class:`PsevenWaitTrigger`:
    ``deadline``, absolute wall-clock seconds (None: no deadline), and ``poll_interval``, seconds."""

    deadline: float | None
    poll_interval: float


class PsevenWaitTrigger(BaseTrigger):
    """Runs :meth:`waiting_op` once and fires one event with how it ended.

    All triggers of one connection in one triggerer share a single pooled HTTP client (see
    :meth:`PsevenHook.get_async_client`), so thousands of waits cost one connection pool. After an
    authentication error the wait goes on once with the connection read again (a rotated token);
    an error that retrying cannot mend (404, 403 again, a bad answer) fires an ``error`` event.
    """

    def __init__(
        self, pseven_conn_id: str, *, deadline: float | None = None, poll_interval: float = 5.0
    ) -> None:
        super().__init__()
        self.pseven_conn_id = pseven_conn_id
        self.deadline = deadline
        self.poll_interval = poll_interval

    @abstractmethod
    def arguments(self) -> dict[str, Any]:
        """The constructor arguments besides connection, deadline and interval."""

    @abstractmethod
    def waiting_op(self) -> Op[WaitResult]:
        """The waiting operation this trigger runs."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "pseven_conn_id": self.pseven_conn_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                **self.arguments(),
            },
        )

    async def client(self) -> AsyncPsevenClient:
        return await PsevenHook(self.pseven_conn_id).get_async_client()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = PsevenHook(self.pseven_conn_id)
        for attempt in (1, 2):
            client: AsyncPsevenClient | None = None
            try:
                client = await hook.get_async_client()
                result = await client.run(self.waiting_op())
            except PsevenAuthError as error:
                if attempt == 1 and client is not None:
                    # A rotated token: read the connection again and wait on with a new client.
                    self.log.warning("%s; reading connection %s again", error, self.pseven_conn_id)
                    hook.evict_async_client(client)
                    continue
                yield _error_event(error)
                return
            except PsevenError as error:
                yield _error_event(error)
                return
            yield TriggerEvent(result.as_event())
            return


class PsevenRunTrigger(PsevenWaitTrigger):
    """A wait on one run, serialized as ``kind``, ``parent_id`` and ``run_id`` besides the
    subclass's own :meth:`run_arguments`."""

    def __init__(
        self, pseven_conn_id: str, kind: str, parent_id: str, run_id: str, **wait: Unpack[WaitSettings]
    ) -> None:
        super().__init__(pseven_conn_id, **wait)
        self.ref = RunRef(RunKind(kind), parent_id, run_id)

    @abstractmethod
    def run_arguments(self) -> dict[str, Any]:
        """The constructor arguments besides connection, run address, deadline and interval."""

    def arguments(self) -> dict[str, Any]:
        return {
            "kind": self.ref.kind.value,
            "parent_id": self.ref.parent_id,
            "run_id": self.ref.run_id,
            **self.run_arguments(),
        }
