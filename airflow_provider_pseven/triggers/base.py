"""The shape every pSeven trigger shares: run one waiting operation on the loop's shared client."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pseven.client import AsyncPsevenClient, PsevenAuthError, PsevenError, RunKind, RunRef
from airflow_provider_pseven.client.calls import Op
from airflow_provider_pseven.client.outcomes import WaitResult
from airflow_provider_pseven.hooks.pseven import PsevenHook


def _error_event(error: PsevenError) -> TriggerEvent:
    return TriggerEvent({"status": "error", "state": "", "payload": {}, "message": str(error)})


class WaitSettings(TypedDict, total=False):
    """How a trigger waits, for a subclass with its own ``__init__`` to pass on as ``**wait`` to
    :class:`PsevenWaitTrigger`: ``deadline``, absolute wall-clock seconds (None: no deadline), and
    ``poll_interval``, seconds."""

    deadline: float | None
    poll_interval: float


@dataclass(eq=False, repr=False)
class PsevenWaitTrigger(BaseTrigger):
    """Runs :meth:`waiting_op` once and fires one event with how it ended.

    All triggers of one connection in one triggerer share a single pooled HTTP client (see
    :meth:`PsevenHook.get_async_client`), so thousands of waits cost one connection pool. After an
    authentication error the wait goes on once with the connection read again (a rotated token);
    an error that retrying cannot mend (404, 403 again, a bad answer) fires an ``error`` event.

    A dataclass: a subclass declares its own arguments once, as fields, and they are its
    constructor's arguments and what :meth:`serialize` writes.
    """

    pseven_conn_id: str
    deadline: float | None = field(default=None, kw_only=True)
    poll_interval: float = field(default=5.0, kw_only=True)

    def __post_init__(self) -> None:
        super().__init__()  # BaseTrigger's own state (task instance, trigger id)

    def arguments(self) -> dict[str, Any]:
        """The constructor arguments besides connection, deadline and interval: the fields a
        subclass declares (a subclass that is no dataclass returns its own)."""
        return _fields_of(self, skip=_WAIT_FIELDS)

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


@dataclass(eq=False, repr=False)
class PsevenRunTrigger(PsevenWaitTrigger):
    """A wait on one run, serialized as ``kind``, ``parent_id`` and ``run_id`` besides the
    subclass's own :meth:`run_arguments`."""

    kind: str
    parent_id: str
    run_id: str
    ref: RunRef = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.ref = RunRef(RunKind(self.kind), self.parent_id, self.run_id)

    def run_arguments(self) -> dict[str, Any]:
        """The constructor arguments besides connection, run address, deadline and interval: the
        fields a subclass declares (a subclass that is no dataclass returns its own)."""
        return _fields_of(self, skip=_RUN_FIELDS)

    def arguments(self) -> dict[str, Any]:
        return {
            "kind": self.ref.kind.value,
            "parent_id": self.ref.parent_id,
            "run_id": self.ref.run_id,
            **self.run_arguments(),
        }


_WAIT_FIELDS = frozenset(f.name for f in fields(PsevenWaitTrigger))
_RUN_FIELDS = frozenset(f.name for f in fields(PsevenRunTrigger))


def _fields_of(trigger: PsevenWaitTrigger, skip: frozenset[str]) -> dict[str, Any]:
    return {f.name: getattr(trigger, f.name) for f in fields(trigger) if f.init and f.name not in skip}
