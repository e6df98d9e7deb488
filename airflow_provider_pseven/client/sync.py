"""The synchronous client: one keep-alive ``requests.Session`` running the shared operations."""

from __future__ import annotations

import concurrent.futures
import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import Retrying

from airflow_provider_pseven.client.api import PsevenApi
from airflow_provider_pseven.client.calls import Call, Op, Reply, Sleep, Watch, check_reply, polled
from airflow_provider_pseven.client.config import ClientConfig
from airflow_provider_pseven.client.core import PROCESS_PHASE, ClientCore
from airflow_provider_pseven.client.errors import PsevenConfigError, PsevenTransportError
from airflow_provider_pseven.client.proxy import proxy_auth_required, proxy_for, tunnel_status, via

if TYPE_CHECKING:
    # requests (with urllib3 and charset_normalizer) costs ~30 ms to import; it is imported when
    # the first client is made, so importing the provider's operators in a DAG file stays cheap.
    import requests

    from airflow_provider_pseven.client.limits import AnswerLimit

T = TypeVar("T")


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _close_late_answer(future: concurrent.futures.Future[requests.Response]) -> None:
    """Close an answer that came after its call gave up (its error, if any, is already reported)."""
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def _never_sent(error: requests.ConnectionError) -> bool:
    """True when the connection was never made, so the server cannot have seen the request."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProxyError

    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    if isinstance(reason, ProxyError):
        # urllib3 calls any failure on a connection it no longer counts as connected a proxy
        # error, also an answer that broke off after the request went through: look inside.
        reason = reason.original_error
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


class PsevenClient(PsevenApi):
    """Blocking pSeven REST API v2 client.

    >>> client = PsevenClient(ClientConfig("https://app.pseven.io", token="..."))
    >>> client.list_workflows()
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        phase: float = PROCESS_PHASE,
    ) -> None:
        import requests

        self.core = ClientCore(config, clock=clock, phase=phase)
        self.config = config
        self.session = session or requests.Session()
        # Per request, not session.proxies: requests lets the environment override those. The
        # environment (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) applies when the connection sets none.
        self._proxies = {"http": config.proxy, "https": config.proxy} if config.proxy else None
        self._sleep = sleep
        self._ready_lock = threading.Lock()
        #: Where answers' heads are awaited (see _head_within); threads start as calls need them.
        self._heads = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="pseven-http")

    def close(self) -> None:
        self._heads.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    def __enter__(self) -> PsevenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- driving operations ---------------------------------------------------------------------

    def run(self, op: Op[T]) -> T:
        """Run an operation to its result: send its calls, honour its sleeps."""
        if not self.core.ready:
            with self._ready_lock:
                if not self.core.ready:
                    self._drive(self.core.readiness())
        return self._drive(self.core.checked(op))

    def _drive(self, op: Op[T]) -> T:
        steps = self.core.steps(op)
        for step in steps:
            if isinstance(step, Sleep):
                self._sleep(step.seconds)
                continue
            with steps.answering():
                steps.reply = self._drive(polled(step)) if isinstance(step, Watch) else self.send(step)
        return steps.result

    def send(self, call: Call) -> Reply:
        """One call, retried as its retry class and the policy allow."""
        for attempt in Retrying(sleep=self._sleep, **self.config.retry.tenacity_kwargs(call)):
            with attempt:
                return self._send_once(call)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _send_once(self, call: Call) -> Reply:
        import requests
        import urllib3

        core = self.core
        kwargs: dict[str, Any] = {}
        if call.json is not None:
            kwargs["json"] = call.json
        if call.body is not None:
            kwargs["data"] = call.body
        limit = core.answer_limit(call)
        url = core.url(call)
        request = functools.partial(
            self.session.request,
            call.method,
            url,
            params=list(call.params) or None,
            headers=core.headers(call),
            timeout=self.config.timeout,
            verify=self.config.verify,
            allow_redirects=False,
            stream=True,
            # An explicit no-op auth stops requests from replacing our token with ~/.netrc.
            auth=_keep_headers,
            proxies=self._proxies,
            **kwargs,
        )
        try:
            # An upload's sending may rightly take long: its deadline counts from its answer.
            response = request() if call.body is not None else self._head_within(request, limit)
        except requests.exceptions.ProxyError as exc:
            # A CONNECT the proxy refused (the pSeven server never saw the request), a proxy it
            # could not reach, or a connection through it that dropped.
            proxy = proxy_for(url, self.config.proxy)
            status = tunnel_status(str(exc))
            if status and status.startswith("407"):
                raise proxy_auth_required(proxy, status) from None
            if status:
                reason, sent = f"the proxy refused the tunnel ({status})", False
            else:
                sent = not _never_sent(exc)
                reason = "connection dropped" if sent else "cannot connect"
            raise core.transport_error(call, f"{reason}{via(proxy)}", sent=sent) from None
        except requests.exceptions.SSLError as exc:
            raise PsevenConfigError(
                f"TLS verification of {self.config.host} failed ({exc.__class__.__name__}); set the "
                "connection's ca_bundle to your CA file, or verify_ssl to false for a test server"
            ) from None
        except requests.ConnectionError as exc:
            sent = not _never_sent(exc)
            reason = "connection dropped" if sent else "cannot connect"
            proxy = via(proxy_for(url, self.config.proxy))
            raise core.transport_error(call, f"{reason}{proxy}: {type(exc).__name__}", sent=sent) from None
        except requests.Timeout:
            proxy = via(proxy_for(url, self.config.proxy))
            raise core.transport_error(
                call, f"no answer within {self.config.timeout:g} s{proxy}", sent=True
            ) from None
        if call.body is not None:
            limit.restart()
        with response:
            if response.status_code == 407:  # a proxy's answer to a plain-http request
                raise proxy_auth_required(proxy_for(url, self.config.proxy), f"407 {response.reason}")
            try:
                headers = {k.lower(): v for k, v in response.headers.items()}
                ok = response.status_code < 300
                if call.sink is not None and ok:
                    self._stream(response, call, headers)
                    content = b""
                else:
                    content = self._read(response, headers, limit)
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
                requests.ConnectionError,
                requests.Timeout,
                urllib3.exceptions.HTTPError,
            ) as exc:
                if call.sink is not None:
                    call.sink.abort()
                raise core.transport_error(
                    call, f"the answer broke off: {type(exc).__name__}", sent=True
                ) from None
        return check_reply(Reply(response.status_code, headers, content, response.url, call))

    def _head_within(self, request: Callable[[], requests.Response], limit: AnswerLimit) -> requests.Response:
        """``request()`` (up to the answer's head), given up at the call's deadline.

        requests' read timeout bounds each read, not the whole head, so a server trickling its status
        line and headers would hold the call; and requests offers no wall-clock limit. So the head is
        awaited on a helper thread; one that comes too late is closed when it comes.
        """
        future = self._heads.submit(request)
        try:
            return future.result(timeout=limit.remaining())
        except concurrent.futures.TimeoutError:
            future.add_done_callback(_close_late_answer)
            raise limit.too_slow() from None

    def _read(self, response: requests.Response, headers: dict[str, str], limit: AnswerLimit) -> bytes:
        """The whole body, within the limit's size and deadline. ``read1`` returns what has arrived,
        so a trickling server is cut off at the deadline (plus at most one read timeout)."""
        status = response.status_code
        limit.declared(status, headers)
        body = bytearray()
        while chunk := response.raw.read1(self.config.chunk_size, decode_content=True):
            body += chunk
            limit.add(status, len(body))
        return bytes(body)

    def _stream(self, response: requests.Response, call: Call, headers: dict[str, str]) -> None:
        sink = call.sink
        assert sink is not None
        length = headers.get("content-length")
        sink.begin(int(length) if length and length.isdigit() else None)
        try:
            for chunk in response.iter_content(chunk_size=self.config.chunk_size):
                sink.write(chunk)
            sink.finish()
        except BaseException:
            sink.abort()  # a full disk or a broken stream leaves no partial file behind
            raise


__all__ = ["PsevenClient", "PsevenTransportError"]
