"""The sans-I/O core: what a request is, what an answer is, and what an answer means.

API operations (``operations.py``) are generators that yield :class:`Call` (send this) or
:class:`Sleep` (wait this long) and receive :class:`Reply`. The sync (requests) and async (httpx)
drivers only move bytes; every rule of the protocol lives here and in the operations, once.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_pseven.client.errors import (
    PsevenAuthError,
    PsevenBadAnswerError,
    PsevenBadRequestError,
    PsevenHTTPError,
    PsevenNotFoundError,
    PsevenNotJsonError,
    PsevenServerError,
    PsevenStateError,
)
from airflow_provider_pseven.client.models import Run, RunState
from airflow_provider_pseven.client.refs import Base

if TYPE_CHECKING:
    from airflow_provider_pseven.client.multipart import MultipartBody
    from airflow_provider_pseven.client.transfer import Sink

T = TypeVar("T")


class Retry(enum.Enum):
    """How a request may be retried after a transient failure."""

    #: Idempotent (GET, DELETE, PATCH with the same body, login, interrupt): resent on any transient
    #: failure: connection errors, timeouts, truncated bodies, 429, 502, 503, 504.
    SAFE = "safe"
    #: Must not run twice (deploy, start, publish, message push/pop, upload): resent only when the
    #: server surely did not act on it: the connection was never made, or it answered 429 or 503.
    UNSENT_ONLY = "unsent-only"


@dataclass(frozen=True)
class Call:
    """One HTTP request, described without doing it."""

    method: str
    path: str
    base: Base = Base.PSEVEN
    params: Sequence[tuple[str, str]] = ()
    json: Any = field(default=None, repr=False)  # may hold a password (auth/login/)
    body: MultipartBody | None = None
    sink: Sink | None = None
    retry: Retry = Retry.SAFE
    authenticated: bool = True
    #: Return 4xx answers as a Reply instead of raising (API path detection); 429 and 5xx still
    #: raise, so they are retried like any other call.
    raw: bool = False
    #: The item with id ``item_id`` of the list at ``listed_in`` answers this GET as well (a run's
    #: state is in the runs list): a client may answer many such calls with one list request.
    listed_in: str | None = None
    item_id: str | None = None

    @property
    def label(self) -> str:
        """``METHOD path`` for messages: no host, no query string, never a credential."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Sleep:
    """Ask the driver to wait (time.sleep or asyncio.sleep) before the operation goes on.

    With ``aligned``, the driver waits until the next tick of ``seconds`` at its phase instead, so
    the waits of one process poll at the same instants; it never waits past ``until`` (an absolute
    time of the driver's clock).
    """

    seconds: float
    aligned: bool = False
    until: float | None = None


@dataclass(frozen=True)
class Now:
    """Ask the driver for the time of its clock (seconds since the epoch): operations read no
    clock themselves, so one injected clock moves every wait in a test."""


NOW = Now()


@dataclass(frozen=True)
class Watch:
    """Ask the driver for ``call``'s answer once the ``state`` it gives is no longer ``unchanged``
    (``None``: any answer), looking after each ``pause`` and answering anyway once ``pause.until``
    has passed.

    Any driver may run it as :func:`polled`. The async client answers the watches of one runs list
    with one list request per tick, and wakes only the waits whose run changed: 10,000 waits then
    cost a triggerer a dictionary lookup each per interval, not a poll each (client/watches.py).
    """

    call: Call
    unchanged: str | None
    pause: Sleep

    def settled(self, reply: Reply) -> bool:
        """Whether ``reply`` ends the watch: the state changed, or it is not a run's summary."""
        data = reply.json()
        return not isinstance(data, dict) or Run.state_text_of(data) != self.unchanged

    def expired(self, now: float) -> bool:
        return self.pause.until is not None and now >= self.pause.until


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, its body already read (or streamed into the call's sink)."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    call: Call = field(repr=False)
    #: Already-parsed JSON (an item taken from a list answer); ``content`` is then empty.
    data: Any = field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def is_json(self) -> bool:
        """JSON by its content type, or by its first byte when the server sent no content type."""
        content_type = self.content_type.lower()
        if "json" in content_type:
            return True
        return "html" not in content_type and self.content.lstrip()[:1] in (b"{", b"[")

    def json(self) -> Any:
        """The body as JSON; an HTML page or other non-JSON gets the friendly wrong-host error."""
        if self.data is not None:
            return self.data
        if not self.content.strip():
            return None
        if not self.is_json:
            raise self._not_json()
        try:
            return json.loads(self.content)
        except ValueError:
            raise self._not_json() from None
        except RecursionError:
            raise self.bad("its JSON is nested too deeply") from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise self._not_json()
        return data

    def json_list(self) -> list[Any]:
        data = self.json()
        if not isinstance(data, list):
            raise self._not_json()
        return data

    def model(self, build: Callable[[dict[str, Any]], T]) -> T:
        """The body (a JSON object) read by ``build`` (a model's ``from_json``)."""
        return self.parsed(build, self.json_object())

    def models(self, build: Callable[[dict[str, Any]], T]) -> list[T]:
        """The body (a JSON list) read item by item by ``build``; items that are no objects are
        skipped, as a newer server's additions would be."""
        return [self.parsed(build, item) for item in self.json_list() if isinstance(item, dict)]

    def parsed(self, build: Callable[[Any], T], data: Any) -> T:
        """``build(data)``; a field of the wrong type (``"size": "12kB"``, ``"parameters": 5``)
        becomes the client's own error, naming the call, the status and the answer's beginning."""
        try:
            return build(data)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
            raise self.bad(f"{type(exc).__name__}: {str(exc)[:200]}") from None

    def bad(self, reason: str) -> PsevenBadAnswerError:
        """The error for an answer that is no usable pSeven answer (see :class:`PsevenBadAnswerError`)."""
        excerpt = repr(self.content[:120].decode("utf-8", "replace")) if self.content else "(parsed data)"
        return PsevenBadAnswerError(self.call.method, self.call.path, self.status, reason, excerpt)

    def _not_json(self) -> PsevenNotJsonError:
        snippet = self.content[:200].decode("utf-8", "replace")
        return PsevenNotJsonError(self.call.method, self.url, self.status, self.content_type, snippet)


Op = Generator["Call | Sleep | Now | Watch", "Reply | float | None", T]
"""An API operation: yields calls, sleeps and looks at the clock; receives replies (a float for
:class:`Now`) and returns its result."""


def polled(watch: Watch) -> Op[Reply]:
    """A :class:`Watch` as the plain sleeps and polls it stands for (the sync driver's way)."""
    while True:
        yield watch.pause
        reply = yield watch.call
        assert isinstance(reply, Reply)
        if watch.settled(reply) or watch.expired((yield from clock())):
            return reply


def clock() -> Op[float]:
    """The driver's time, for operations that keep deadlines or report how long something took."""
    now = yield NOW
    assert isinstance(now, float)
    return now


def error_detail(reply: Reply) -> str:
    """The server's explanation of an error: ``detail`` of a JSON body, else the body itself."""
    try:
        data = json.loads(reply.content) if reply.content.strip() else None
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        return json.dumps(data, ensure_ascii=False)[:500]
    if data is not None:
        return json.dumps(data, ensure_ascii=False)[:500]
    text = reply.content[:2000].decode("utf-8", "replace").strip()
    if text.startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        return f"an HTML page{': ' + title.group(1).strip()[:100] if title else ''}"
    return text[:300] or "(empty body)"


def retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After``: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


_NOT_THE_API = (
    "an HTML page, not the pSeven API's JSON: a proxy, firewall or web server between Airflow and "
    "pSeven answered; it may limit request sizes (413) or block this address (403)"
)


def html_first_line(content: bytes) -> str:
    """The first line of an HTML page that has text once its tags are gone (a proxy's error page
    names its status there: "413 Request Entity Too Large")."""
    for line in content[:4000].decode("utf-8", "replace").splitlines():
        text = " ".join(re.sub(r"<[^>]*>", " ", line).split())
        if text:
            return text[:200]
    return "(an HTML page without text)"


_STATE_WORDS = tuple(s.value for s in RunState if s is not RunState.UNKNOWN)


def check_reply(reply: Reply) -> Reply:
    """Raise the typed error an error status means; pass a success through.

    Redirects and 429/5xx are classified before the body is judged: a proxy's HTML error page
    during a restart is still a retryable 503, and a redirect names where it points.
    """
    status = reply.status
    if status < 300 or (reply.call.raw and status < 500 and status != 429):
        return reply
    call = reply.call
    error: PsevenHTTPError
    if status < 400:
        location = reply.headers.get("location", "")
        hint = "the connection's host is probably not the sign-in URL; use the address it redirects to"
        if any(word in location.lower() for word in ("login", "signin", "sign-in", "sso", "auth")):
            hint = (
                "a sign-in page answers there, not the REST API: check the connection's host (the "
                "pSeven Enterprise sign-in URL, without a path) and its api_path"
            )
        raise PsevenHTTPError(
            call.method, call.path, status, f"redirected to {location or 'another address'}", hint
        )
    if status == 429 or status >= 500:
        error = PsevenServerError(call.method, call.path, status, error_detail(reply))
        error.retry_after = retry_after_seconds(reply.headers.get("retry-after"))
        raise error
    if not reply.is_json and reply.content.lstrip()[:1] == b"<":
        if status == 404:  # with 200 and 3xx, the one HTML answer that means "no pSeven API here"
            raise reply._not_json()
        raise PsevenHTTPError(call.method, call.path, status, html_first_line(reply.content), _NOT_THE_API)
    detail = error_detail(reply)
    if status in (401, 403):
        hint = "check the connection's API token, or its login and password, and the user's permissions"
        if not reply.is_json:  # not the API's JSON: a firewall or proxy answered
            hint = (
                "the answer is not the REST API's JSON, so a firewall or proxy may have refused it: "
                "if the server is reachable only through a proxy, set the connection's proxy or "
                f"HTTPS_PROXY / HTTP_PROXY; otherwise {hint}"
            )
        error = PsevenAuthError(call.method, call.path, status, detail, hint)
    elif status == 404:
        error = PsevenNotFoundError(call.method, call.path, status, detail)
    elif status == 409 or (status == 400 and any(word in detail for word in _STATE_WORDS)):
        error = PsevenStateError(call.method, call.path, status, detail)
    elif status == 400:
        error = PsevenBadRequestError(call.method, call.path, status, detail)
    else:
        error = PsevenHTTPError(call.method, call.path, status, detail)
    raise error
