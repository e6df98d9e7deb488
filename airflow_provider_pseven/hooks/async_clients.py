"""The async clients of an event loop (a triggerer's): one per client configuration, shared by every
trigger that uses it, so thousands of waits cost one connection pool.

A client is keyed by its whole configuration, token included, and a connection is read again at
most every :data:`CONNECTION_TTL` seconds, so a rotated token reaches new triggers within that time;
after an authentication error a trigger evicts the connection as read and its client, and its
next try reads the connection again. The clients are closed when their event loop shuts down.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig

#: Seconds a connection, once read, serves new triggers before it is read again.
CONNECTION_TTL = 30.0


class LoopClients:
    """The clients of one event loop, by configuration, and the connections they were read from."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.by_config: dict[ClientConfig, asyncio.Task[AsyncPsevenClient]] = {}
        self.connections: dict[str, tuple[float, asyncio.Task[ClientConfig]]] = {}
        #: Clients evicted while triggers may still be using them: closed with the others.
        self.retired: list[AsyncPsevenClient] = []
        self._closer: AsyncIterator[None] | None = None

    async def client(
        self,
        conn_id: str,
        read: Callable[[], Awaitable[ClientConfig]],
        build: Callable[[ClientConfig], AsyncPsevenClient] = AsyncPsevenClient,
    ) -> AsyncPsevenClient:
        """The shared client for the connection ``conn_id`` as ``read`` gives it (``build`` makes one)."""
        await self._close_at_shutdown()
        config = await self._config(conn_id, read)
        task = self.by_config.get(config)
        if task is None or (task.done() and task.exception() is not None):
            # Building a client loads the CA bundle (tens of milliseconds): not on the event loop.
            task = self.loop.create_task(asyncio.to_thread(build, config))
            self.by_config[config] = task
        return await asyncio.shield(task)

    async def _config(self, conn_id: str, read: Callable[[], Awaitable[ClientConfig]]) -> ClientConfig:
        now = self.loop.time()
        entry = self.connections.get(conn_id)
        if (
            entry is None
            or now - entry[0] > CONNECTION_TTL
            or (entry[1].done() and entry[1].exception() is not None)
        ):
            entry = (now, self.loop.create_task(_awaited(read)))
            self.connections[conn_id] = entry
        return await asyncio.shield(entry[1])

    def evict(self, conn_id: str, client: AsyncPsevenClient) -> None:
        """Forget the connection as read and ``client``: the next trigger reads the connection again."""
        self.connections.pop(conn_id, None)
        for config, task in list(self.by_config.items()):
            if task.done() and task.exception() is None and task.result() is client:
                del self.by_config[config]
                self.retired.append(client)

    async def aclose(self) -> None:
        built = [t.result() for t in self.by_config.values() if t.done() and t.exception() is None]
        self.by_config.clear()
        self.connections.clear()
        for client in [*built, *self.retired]:
            await client.aclose()
        self.retired.clear()

    async def _close_at_shutdown(self) -> None:
        """Start, once, an async generator whose ``finally`` closes the clients: asyncio finalizes
        the async generators of a loop when it shuts down (``asyncio.run`` does)."""
        if self._closer is None:
            self._closer = self._until_shutdown()
            await anext(self._closer)

    async def _until_shutdown(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.aclose()


async def _awaited(read: Callable[[], Awaitable[ClientConfig]]) -> ClientConfig:
    return await read()


_LOOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopClients] = weakref.WeakKeyDictionary()


def loop_clients() -> LoopClients:
    """The running event loop's clients."""
    loop = asyncio.get_running_loop()
    clients = _LOOPS.get(loop)
    if clients is None:
        clients = _LOOPS[loop] = LoopClients(loop)
    return clients


def forget_loop_clients() -> LoopClients | None:
    """Drop the running loop's registry (tests close it themselves)."""
    return _LOOPS.pop(asyncio.get_running_loop(), None)


__all__ = ["CONNECTION_TTL", "LoopClients", "forget_loop_clients", "loop_clients"]
