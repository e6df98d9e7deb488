"""What the sync and async clients share: URLs, headers, readiness (base path, token), op stepping."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from airflow_provider_pseven.client import operations as ops
from airflow_provider_pseven.client.calls import Base, Call, Now, Op, Reply, Retry, Sleep
from airflow_provider_pseven.client.config import ClientConfig
from airflow_provider_pseven.client.errors import (
    PsevenError,
    PsevenHTTPError,
    PsevenNotFoundError,
    PsevenNotJsonError,
    PsevenRequestMayHaveSucceeded,
    PsevenTransportError,
    PsevenUnsafeURLError,
)
from airflow_provider_pseven.client.limits import AnswerLimit
from airflow_provider_pseven.client.text import client_logger

log = client_logger()

T = TypeVar("T")
_API_BASES = (Base.PSEVEN, Base.APPSHUB)
#: Seconds between looks while another operation of the client detects the base path again.
_REDETECT_WAIT = 0.05
#: Where in each interval this process's aligned waits tick, as a fraction of the interval. Random
#: per process, so that triggerers on several machines do not poll one server at the same instants.
PROCESS_PHASE = random.random()


class ClientCore:
    """Connection state of one client: the API base path and token, found once and reused; and the
    client's clock, which answers the operations' :class:`Now` and times their sleeps."""

    def __init__(
        self, config: ClientConfig, *, clock: Callable[[], float] = time.time, phase: float = PROCESS_PHASE
    ) -> None:
        self.config = config
        self.clock = clock
        self.phase = phase
        self.api_path: str | None = None if config.api_path == "auto" else config.api_path
        self.token: str | None = config.token
        origin = urlsplit(config.host)
        self._origin = (origin.scheme, origin.hostname, origin.port)
        #: True while ``api_path`` is one the cache remembered and no answer has confirmed it yet.
        self.api_path_unconfirmed = False
        self._redetecting = False
        #: The workflows list detection was answered with, for the first ``workflows/`` call after it.
        self._listing: Reply | None = None
        if self.api_path is None and config.api_path_cache is not None:
            self.api_path = config.api_path_cache.get(config.host, config.connection_id)
            self.api_path_unconfirmed = self.api_path is not None

    @property
    def ready(self) -> bool:
        return self.api_path is not None and self.token is not None

    def readiness(self) -> Op[None]:
        """Detect the base path (when ``auto`` and not cached) and log in (when no token): at most
        once each."""
        if self.api_path is None:
            yield from self._detect_api_path()
        if self.token is None:
            assert self.config.username and self.config.password
            token = yield from self.checked(ops.login(self.config.username, self.config.password))
            if self.config.on_secret:
                self.config.on_secret(token)
            self.token = token

    def _detect_api_path(self) -> Op[None]:
        self.api_path = yield from ops.detect_api_path(self._keep_listing)
        self.api_path_unconfirmed = False
        if self.config.api_path_cache is not None:
            self.config.api_path_cache.put(self.config.host, self.config.connection_id, self.api_path)

    def checked(self, op: Op[T]) -> Op[T]:
        """``op`` itself; or, while the base path is an unconfirmed cached one, ``op`` watched for a
        server that denies it (see :meth:`_confirming`)."""
        return self._confirming(op) if self.api_path_unconfirmed else op

    def _confirming(self, op: Op[T]) -> Op[T]:
        """Run ``op``; the first API answer confirms the cached base path, unless it says no API is
        there (404, an HTML page, a redirect). Then the path is evicted and detected again, once per
        client, and a call the old path denied is resent at the new one: it never reached an API."""
        steps = Steps(op, advance)
        for step in steps:
            watched = isinstance(step, Call) and step.base in _API_BASES and self.api_path_unconfirmed
            sent_at = self.api_path
            with steps.answering():
                steps.reply = yield step
            if not watched:
                continue
            assert isinstance(step, Call)
            assert not isinstance(steps.reply, float)
            if not _no_api_here(step, steps.reply, steps.error):
                if steps.error is None and step.sink is None:
                    self.api_path_unconfirmed = False
                continue
            if self.api_path_unconfirmed:
                self.api_path_unconfirmed = False
                self._redetecting = True
                try:
                    log.info(
                        "The cached pSeven REST API path %s was denied at %s; detecting it again",
                        sent_at,
                        self.config.host,
                    )
                    if self.config.api_path_cache is not None:
                        self.config.api_path_cache.evict(self.config.host, self.config.connection_id)
                    yield from self._detect_api_path()
                finally:
                    self._redetecting = False
            while self._redetecting:  # another operation of this client is detecting it: wait
                yield Sleep(_REDETECT_WAIT)
            if self.api_path != sent_at:
                with steps.answering():
                    steps.reply = yield step
        return steps.result

    def steps(self, op: Op[T]) -> Steps[T]:
        """``op``'s steps as a driver sees them (see :meth:`step`)."""
        return Steps(op, self.step)

    def step(self, op: Op[Any], reply: Reply | float | None, error: BaseException | None) -> tuple[bool, Any]:
        """:func:`advance` for a driver: looks at the clock are answered at once, and a sleep comes
        back as the number of seconds to sleep (aligned to this client's phase, and never past its
        ``until``) with ``until`` the instant it ends, so both drivers keep time alike."""
        finished, step = advance(op, reply, error)
        while not finished and isinstance(step, Now | Call) and not self._must_send(step):
            finished, step = advance(
                op, self.clock() if isinstance(step, Now) else self._take_listing(), None
            )
        if not finished and isinstance(step, Sleep):
            now = self.clock()
            pause = self.pause_seconds(step, now)
            return False, Sleep(pause, aligned=step.aligned, until=now + pause)
        return finished, step

    def _keep_listing(self, reply: Reply) -> None:
        self._listing = reply

    def _must_send(self, step: Call | Now) -> bool:
        """Whether a call needs the network: not when it is the ``workflows/`` list that detection
        was just answered with (its first use only; any other API call drops that answer)."""
        if isinstance(step, Now):
            return False
        if self._listing is None:
            return True
        if (
            step.method == "GET"
            and step.base is Base.PSEVEN
            and step.path == "workflows/"
            and not step.params
        ):
            return False
        if step.base is not Base.SITE:
            self._listing = None
        return True

    def _take_listing(self) -> Reply:
        assert self._listing is not None
        listing, self._listing = self._listing, None
        return listing

    def pause_seconds(self, sleep: Sleep, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        pause = sleep.seconds
        if sleep.aligned and pause > 0:
            # Aligned waits in one process all poll at the same instants: the async client answers
            # the polls of one workflow from one runs-list request, and a triggerer wakes once per
            # interval instead of once per workflow (docs/benchmarks.md, trigger capacity).
            pause -= (now - self.phase * pause) % pause
        if sleep.until is not None:
            pause = min(pause, sleep.until - now)
        return max(0.0, pause)

    def api_base(self, base: Base) -> str:
        """``{sign-in URL}/pseven/{api path}/v2/`` or the AppsHub twin."""
        return f"{self.config.host}/{base.value}/{self.api_path or '.rest'}/v2/"

    def url(self, call: Call) -> str:
        if call.base is Base.ABSOLUTE:
            target = urlsplit(call.path)
            if (target.scheme, target.hostname, target.port) != self._origin:
                raise PsevenUnsafeURLError(
                    f"The server gave a URL on {target.scheme}://{target.netloc}, not on the configured "
                    f"{self.config.host}; the request was not sent, so the token never leaves this host"
                )
            return call.path
        if call.base is Base.SITE:
            return f"{self.config.host}/{call.path}"
        return self.api_base(call.base) + call.path

    def headers(self, call: Call) -> dict[str, str]:
        # A download's answer is the file itself, of any type: JSON only for the API's answers.
        accept = "*/*" if call.sink is not None else "application/json"
        headers = {"Accept": accept, "User-Agent": self.config.user_agent}
        if call.authenticated and self.token:
            headers["Authorization"] = f"Token {self.token}"
        if call.body is not None:
            headers["Content-Type"] = call.body.content_type
            headers["Content-Length"] = str(call.body.content_length)
        return headers

    def answer_limit(self, call: Call) -> AnswerLimit:
        """The size and time budget of ``call``'s answer, from now (see :mod:`.limits`)."""
        return AnswerLimit(
            call,
            max_bytes=self.config.max_body_bytes,
            deadline=self.config.deadline,
            slow_error=lambda call, reason: self.transport_error(call, reason, sent=True),
        )

    def transport_error(self, call: Call, reason: str, *, sent: bool) -> PsevenTransportError:
        """A failure with no answer, worded for a person, never showing a credential."""
        error = PsevenTransportError(
            call.method, call.path, f"{reason} (server {self.config.host})", sent=sent
        )
        if sent and call.retry is not Retry.SAFE:
            return PsevenRequestMayHaveSucceeded(call.method, call.path, error.reason, sent=True)
        return error


def _no_api_here(call: Call, reply: Reply | None, error: BaseException | None) -> bool:
    """Whether an answer says there is no REST API at the base path the call went to."""
    if isinstance(error, (PsevenNotFoundError, PsevenNotJsonError)):
        return True
    if isinstance(error, PsevenHTTPError):
        return 300 <= error.status < 400
    if reply is None or reply.data is not None:
        return False
    if reply.status == 404:
        return True
    if call.sink is not None or reply.is_json:
        return False
    return "html" in reply.content_type.lower() or reply.content.lstrip()[:1] == b"<"


def advance(op: Op[Any], reply: Reply | float | None, error: BaseException | None) -> tuple[bool, Any]:
    """Feed ``op`` the last answer (or error); return ``(True, result)`` or ``(False, next step)``."""
    try:
        step = op.throw(error) if error is not None else op.send(reply)
    except StopIteration as stop:
        return True, stop.value
    return False, step


class Steps(Generic[T]):
    """One operation being driven, the bookkeeping every driver shares: iterate for its steps,
    answer each with ``reply`` (set inside :meth:`answering`, which turns a client error raised
    there into the answer), and read ``result`` once the iteration ends."""

    def __init__(
        self,
        op: Op[T],
        advance: Callable[[Op[Any], Reply | float | None, BaseException | None], tuple[bool, Any]],
    ) -> None:
        self._op = op
        self._advance = advance
        self.reply: Reply | float | None = None
        self.error: BaseException | None = None
        self.result: T

    def __iter__(self) -> Steps[T]:
        return self

    def __next__(self) -> Any:
        finished, step = self._advance(self._op, self.reply, self.error)
        self.reply, self.error = None, None
        if finished:
            self.result = step
            raise StopIteration
        return step

    def answering(self) -> Steps[T]:
        """``with steps.answering(): steps.reply = <send the step>``: a :class:`PsevenError` the
        sending raises goes to the operation instead (it may retry, or let it propagate)."""
        self.reply, self.error = None, None
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> bool:
        if isinstance(error, PsevenError):
            self.error = error
            return True
        return False
