"""The asyncio client: one pooled ``httpx.AsyncClient`` running the same operations as the sync one."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying

from airflow_provider_pseven.client.api import PsevenApi
from airflow_provider_pseven.client.calls import Call, Op, Reply, Sleep, Watch, check_reply, polled
from airflow_provider_pseven.client.coalesce import ListCoalescer
from airflow_provider_pseven.client.config import ClientConfig
from airflow_provider_pseven.client.core import PROCESS_PHASE, ClientCore
from airflow_provider_pseven.client.errors import PsevenConfigError
from airflow_provider_pseven.client.lanes import Lanes
from airflow_provider_pseven.client.limits import AnswerLimit
from airflow_provider_pseven.client.proxy import proxy_auth_required, proxy_for, tunnel_status, via
from airflow_provider_pseven.client.ticks import SharedTicks
from airflow_provider_pseven.client.watches import ListWatches

T = TypeVar("T")


def _ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """One TLS context for the client's transports (httpx makes one per proxy transport
    otherwise, each loading the CA bundle again)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context() if verify else False


def _lane_builder(config: ClientConfig) -> Callable[[], httpx.AsyncClient]:
    """How each connection's httpx client is built; they share one TLS context."""
    verify = _ssl_verify(config.verify)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    def build() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=verify,
            limits=limits,
            proxy=config.proxy,
            trust_env=True,
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
        )

    return build


class AsyncPsevenClient(PsevenApi):
    """Non-blocking pSeven REST API v2 client, safe to share between many tasks of one event loop.

    All its requests go through at most ``max_connections`` keep-alive connections, which is what
    lets one triggerer follow thousands of runs cheaply: each its own ``httpx.AsyncClient`` of one
    connection (see lanes.py: httpcore's pool cost about twice the CPU per request in bursts). They are
    few on purpose: polls are short (benchmarks/trigger_capacity.py). httpx's own transport carries
    them, so its proxy support applies: the connection's ``proxy``, else
    ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` (``trust_env``), as the sync client does. An
    ``http`` client given carries every request instead (tests give mock transports).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        phase: float = PROCESS_PHASE,
        max_connections: int = 10,
        coalesce: bool = True,
    ) -> None:
        self.core = ClientCore(config, clock=clock, phase=phase)
        self.config = config
        self.lanes = Lanes(_lane_builder(config) if http is None else None, http)
        self._sleep = sleep
        #: Sleeps of this client's operations that end at one instant share one timer.
        self.ticks = SharedTicks(sleep)
        self._ready_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max_connections)
        #: Gathers run-state polls of one workflow into one runs-list request (see coalesce.py).
        self.coalescer = ListCoalescer(self._send_retrying) if coalesce else None
        #: Keeps waits asleep until their run changes, answered from those lists (see watches.py).
        self.watches = (
            ListWatches(
                self.coalescer,
                clock=self.core.clock,
                pause_seconds=lambda watch, now: self.core.pause_seconds(watch.pause, now),
                sleep=sleep,
            )
            if self.coalescer is not None
            else None
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client of the first connection (the one given, if one was)."""
        return self.lanes.first

    @http.setter
    def http(self, client: httpx.AsyncClient) -> None:
        """From now on, every request goes through ``client``."""
        self.lanes = Lanes(None, client)

    async def aclose(self) -> None:
        await self.lanes.aclose()

    async def __aenter__(self) -> AsyncPsevenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- driving operations ---------------------------------------------------------------------

    async def run(self, op: Op[T]) -> T:
        """Run an operation to its result: send its calls, honour its sleeps."""
        if not self.core.ready:
            async with self._ready_lock:
                if not self.core.ready:
                    await self._drive(self.core.readiness())
        return await self._drive(self.core.checked(op))

    async def _drive(self, op: Op[T]) -> T:
        steps = self.core.steps(op)
        for step in steps:
            if isinstance(step, Sleep):
                # Nothing but the sleep's numbers is kept across it (see ticks.py). Aligned sleeps
                # of many waits end together; any other sleep would have its timer to itself.
                seconds, until, aligned = step.seconds, step.until, step.aligned
                del step
                if aligned and until is not None and seconds > 0:
                    await self.ticks.sleep(seconds, until)
                else:
                    await self._sleep(seconds)
                continue
            with steps.answering():
                steps.reply = await (self._watch(step) if isinstance(step, Watch) else self.send(step))
        return steps.result

    async def _watch(self, watch: Watch) -> Reply:
        """A watch served with the other watches of its runs list, or as plain polls."""
        if self.watches is not None and watch.call.listed_in is not None:
            return await self.watches.watch(watch)
        return await self._drive(polled(watch))

    async def send(self, call: Call) -> Reply:
        """One call, retried as its retry class and the policy allow; list-answerable calls may be
        answered together from one list request."""
        if call.listed_in is not None and self.coalescer is not None:
            return await self.coalescer.send(call)
        return await self._send_retrying(call)

    async def _send_retrying(self, call: Call) -> Reply:
        async for attempt in AsyncRetrying(sleep=self._sleep, **self.config.retry.tenacity_kwargs(call)):
            with attempt:
                # Queue here, not in httpx's pool: its wait queue costs O(waiting) per request,
                # which made a burst of 1,000 polls cost milliseconds of CPU each. A slot is a lane.
                async with self._slots, self.lanes.lane() as http:
                    return await self._send_once(call, http)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _send_once(self, call: Call, http: httpx.AsyncClient) -> Reply:
        limit = self.core.answer_limit(call)
        try:
            # The deadline covers the whole call, except an upload's sending (it may rightly take
            # long; its answer then gets the whole deadline) and a download's streaming.
            async with asyncio.timeout(None if call.body is not None else limit.remaining()) as scope:
                response = await self._open(call, http)
                try:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    if call.sink is not None and response.status_code < 300:
                        scope.reschedule(None)
                        await self._stream(response, call, headers)
                        content = b""
                    else:
                        if call.body is not None:
                            limit.restart()
                        scope.reschedule(asyncio.get_running_loop().time() + limit.remaining())
                        content = await self._read(response, headers, limit)
                except httpx.TransportError as exc:
                    if call.sink is not None:
                        call.sink.abort()
                    raise self.core.transport_error(
                        call, f"the answer broke off: {type(exc).__name__}", sent=True
                    ) from None
                finally:
                    await response.aclose()
        except TimeoutError:
            if call.sink is not None:
                call.sink.abort()
            raise limit.too_slow() from None
        return check_reply(Reply(response.status_code, headers, content, str(response.url), call))

    async def _open(self, call: Call, http: httpx.AsyncClient) -> httpx.Response:
        """Send ``call`` and get its answer's head; connection failures become the client's errors."""
        core = self.core
        request = http.build_request(
            call.method,
            core.url(call),
            params=list(call.params) or None,
            headers=core.headers(call),
            json=call.json,
            content=call.body.aiter() if call.body is not None else None,
        )
        try:
            response = await http.send(request, stream=True)
        except httpx.ProxyError as exc:
            # A CONNECT the proxy refused: the pSeven server never saw the request.
            proxy = proxy_for(str(request.url), self.config.proxy)
            status = tunnel_status(str(exc)) or type(exc).__name__
            if status.startswith("407"):
                raise proxy_auth_required(proxy, status) from None
            reason = f"the proxy refused the tunnel ({status}){via(proxy)}"
            raise core.transport_error(call, reason, sent=False) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(exc.__cause__, ssl.SSLError):
                raise PsevenConfigError(
                    f"TLS verification of {self.config.host} failed; set the connection's ca_bundle to "
                    "your CA file, or verify_ssl to false for a test server"
                ) from None
            proxy = via(proxy_for(str(request.url), self.config.proxy))
            raise core.transport_error(
                call, f"cannot connect{proxy}: {type(exc).__name__}", sent=False
            ) from None
        except httpx.TimeoutException:
            proxy = via(proxy_for(str(request.url), self.config.proxy))
            raise core.transport_error(
                call, f"no answer within {self.config.timeout:g} s{proxy}", sent=True
            ) from None
        except httpx.TransportError as exc:
            raise core.transport_error(call, f"connection dropped: {type(exc).__name__}", sent=True) from None
        if response.status_code == 407:  # a proxy's answer to a plain-http request
            await response.aclose()
            raise proxy_auth_required(
                proxy_for(str(request.url), self.config.proxy), f"407 {response.reason_phrase}"
            )
        return response

    @staticmethod
    async def _read(response: httpx.Response, headers: dict[str, str], limit: AnswerLimit) -> bytes:
        """The whole body, at most the limit's size (the deadline is the caller's timeout scope)."""
        limit.declared(response.status_code, headers)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            limit.add(response.status_code, len(body))
        return bytes(body)

    async def _stream(self, response: httpx.Response, call: Call, headers: dict[str, str]) -> None:
        sink = call.sink
        assert sink is not None
        length = headers.get("content-length")
        sink.begin(int(length) if length and length.isdigit() else None)
        try:
            # No chunk_size: httpx would re-buffer every piece through a BytesIO to that size, one more
            # copy of every byte (measured ~15 % of the client's CPU on a 1 GiB download). The pieces
            # come as the connection reads them (64 KiB) and go to the sink as they are.
            async for chunk in response.aiter_bytes():
                sink.write(chunk)
            sink.finish()
        except BaseException:
            sink.abort()  # a full disk or a broken stream leaves no partial file behind
            raise
