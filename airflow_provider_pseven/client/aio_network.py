"""httpcore's network layer on plain asyncio protocols, for the async client.

httpcore's default backend goes through anyio. For what a triggerer does (bursts of short polls on
a small keep-alive pool) that is most of the client's cost: each time httpcore places a request it
asks every pooled connection whether it is readable, which anyio answers by building its attribute
table and polling the socket, and every read and write opens a cancel scope. Here a connection
is an ``asyncio.Protocol`` that buffers what the loop delivers, so "readable" is a field and a
read is a buffer pop. Measured (benchmarks/trigger_capacity.py, docs/benchmarks.md): a burst of 10
runs-list requests cost 1.7 ms of CPU per request through anyio, 1.3 ms through this.

It implements httpcore's public ``AsyncNetworkBackend`` interface; TLS goes through
``loop.start_tls``, errors and timeouts become the httpcore exceptions that
:mod:`~airflow_provider_pseven.client.aio_transport` maps to httpx's. That transport is how the
client installs it: httpx's public extension point, since ``httpx.AsyncHTTPTransport`` takes no
network backend.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import httpcore

T = TypeVar("T")

#: Stop reading from the socket while this much is buffered and not yet read (bounded memory for
#: downloads that arrive faster than they are written).
_HIGH_WATER = 1024 * 1024


class _Connection(asyncio.Protocol):
    """Buffers what the event loop reads for one TCP (or TLS) connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.offset = 0  # bytes of chunks[0] already read
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.data_waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.drain_waiter is None:
            self.drain_waiter = self.loop.create_future()

    def resume_writing(self) -> None:
        waiter, self.drain_waiter = self.drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self.data_waiter = self.data_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of what is buffered (at least one byte if anything is), copying
        only when a received piece must be split."""
        first, start = self.chunks[0], self.offset
        if start == 0 and len(first) <= max_bytes:
            self.chunks.popleft()
            piece = first
        else:
            piece = first[start : start + max_bytes]
            self.offset = start + len(piece)
            if self.offset == len(first):
                self.chunks.popleft()
                self.offset = 0
        self.buffered -= len(piece)
        if self.reading_paused and self.buffered <= _HIGH_WATER // 2 and self.transport is not None:
            self.transport.resume_reading()
            self.reading_paused = False
        return piece


async def _within(awaitable: Awaitable[T], timeout: float | None) -> T:
    """Await with a timeout kept by one timer handle (no extra task for a plain future)."""
    if timeout is None:
        return await awaitable
    future = asyncio.ensure_future(awaitable)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        future.cancel()

    handle = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        return await future
    except asyncio.CancelledError:
        if expired:
            raise TimeoutError from None
        raise
    finally:
        handle.cancel()


#: httpcore's names for connection facts -> asyncio's (the others are the same).
_TRANSPORT_EXTRA = {"client_addr": "sockname", "server_addr": "peername"}


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection as httpcore reads and writes it."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        while not connection.chunks:
            if connection.error is not None:
                raise httpcore.ReadError(str(connection.error) or type(connection.error).__name__)
            if connection.eof:
                return b""
            waiter = connection.data_waiter = connection.loop.create_future()
            try:
                await _within(waiter, timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout(f"no data within {timeout:g} s") from None
        return connection.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        connection = self._connection
        transport = connection.transport
        if not buffer:
            return
        if transport is None or transport.is_closing() or connection.error is not None:
            raise httpcore.WriteError("the connection is closed")
        transport.write(buffer)
        if connection.drain_waiter is not None:
            try:
                await _within(asyncio.shield(connection.drain_waiter), timeout)
            except TimeoutError:
                raise httpcore.WriteTimeout(f"could not send within {timeout:g} s") from None
            if connection.error is not None:
                raise httpcore.WriteError(str(connection.error) or "the connection was lost")

    async def aclose(self) -> None:
        if self._connection.transport is not None:
            self._connection.transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        connection = self._connection
        assert connection.transport is not None
        try:
            tls = await _within(
                connection.loop.start_tls(
                    connection.transport, connection, ssl_context, server_hostname=server_hostname
                ),
                timeout,
            )
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout(f"TLS handshake took over {timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        assert isinstance(tls, asyncio.Transport)
        connection.transport = tls
        return self

    def get_extra_info(self, info: str) -> Any:
        connection = self._connection
        transport = connection.transport
        if info == "is_readable":
            # An idle keep-alive connection is "readable" when the server closed it or sent
            # something unasked: httpcore then drops it instead of reusing it.
            return connection.eof or bool(connection.chunks)
        if transport is None:
            return None
        return transport.get_extra_info(_TRANSPORT_EXTRA.get(info, info))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens :class:`AsyncioStream` connections (TCP_NODELAY set, as asyncio does by default)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                ),
                timeout,
            )
        except (TimeoutError, asyncio.TimeoutError):  # two classes before Python 3.11
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} within {timeout:g} s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock: socket.socket | None = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(connection)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
