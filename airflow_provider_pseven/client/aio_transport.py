"""The async client's httpx transport: httpcore's connection pool on the asyncio network backend.

``httpx.AsyncHTTPTransport`` builds its pool on httpcore's default (anyio) backend and takes no
other, so the client brings its own transport, httpx's public extension point: this is
AsyncHTTPTransport's request path with the pool built here, over
:class:`~airflow_provider_pseven.client.aio_network.AsyncioBackend`, which costs 10-20% less CPU
per poll than anyio at 100 to 1,000 waits in one triggerer (docs/benchmarks.md, "Keep or drop
the asyncio network layer").
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterator

import httpcore
import httpx

from airflow_provider_pseven.client.aio_network import AsyncioBackend

#: httpcore's errors and httpx's of the same name, which httpx raises for them and the client
#: catches; the most specific first.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = tuple(
    (getattr(httpcore, name), getattr(httpx, name))
    for name in (
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "TimeoutException",
        "ConnectError",
        "ReadError",
        "WriteError",
        "NetworkError",
        "RemoteProtocolError",
        "LocalProtocolError",
        "ProtocolError",
        "UnsupportedProtocol",
    )
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core_error, httpx_error in _HTTPX_ERRORS:
            if isinstance(error, core_error):
                raise httpx_error(str(error)) from error
        raise


class _ResponseBody(httpx.AsyncByteStream):
    """A response body read from the pool, its errors raised as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _as_httpx_errors():
                await close()


class AsyncioTransport(httpx.AsyncBaseTransport):
    """One keep-alive pool of at most ``limits.max_connections`` connections, TLS with ``verify``
    (a bool, as httpx takes it, or an :class:`ssl.SSLContext`)."""

    def __init__(self, *, verify: bool | ssl.SSLContext, limits: httpx.Limits) -> None:
        self.backend = AsyncioBackend()
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self.pool.handle_async_request(core_request)
        body = response.stream
        assert isinstance(body, AsyncIterable)  # an async pool streams asynchronously
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(body),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


__all__ = ["AsyncioTransport"]
