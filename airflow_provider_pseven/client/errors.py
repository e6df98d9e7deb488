"""Typed errors of the pSeven client.

Every error says what happened and, where we can tell, what to fix. None of them ever carries the
API token or a password: messages are built from the method, the API-relative path and the server's
``detail`` only.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven.client.text import escape


class PsevenError(Exception):
    """Base class of every error raised by this package's client.

    Its text shows control characters escaped: messages quote server-given names, states and
    bodies, and a newline or escape sequence in them must not forge a log line.
    """

    def __str__(self) -> str:
        return escape(super().__str__())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it is, its ``args`` and attributes, not rebuilt by calling its constructor
        again: an error crosses processes (a worker's failure, a triggerer's event) whatever its
        constructor takes, and every subclass pickles without a method of its own."""
        return (_restored, (type(self), self.args), self.__dict__)


def _restored(cls: type[PsevenError], args: tuple[Any, ...]) -> PsevenError:
    """An error with these ``args``, its constructor not called (pickle then sets its attributes)."""
    return cls.__new__(cls, *args)


class PsevenConfigError(PsevenError):
    """The client was configured with something unusable (no host, bad timeout, ...)."""


class PsevenProxyError(PsevenConfigError):
    """A forward proxy refused the request itself (407, or a tunnel it would not open): the
    pSeven server never saw it. Not an authentication failure of the server."""


class PsevenHTTPError(PsevenError):
    """The server answered with a 4xx or 5xx status.

    ``detail`` is the server's own explanation (the ``detail`` field of its JSON error body, or the
    whole body when it has another shape).
    """

    def __init__(self, method: str, path: str, status: int, detail: str, hint: str = "") -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        self.hint = hint
        #: Seconds the server asked us to wait (``Retry-After``), for 429 and 503.
        self.retry_after: float | None = None
        message = f"{method} {path} failed with HTTP {status}: {detail}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class PsevenAuthError(PsevenHTTPError):
    """401/403: the token is missing, wrong or lacks a permission."""


class PsevenNotFoundError(PsevenHTTPError):
    """404: the workflow, app, run or file does not exist (or is not visible to this user)."""


class PsevenStateError(PsevenHTTPError):
    """The run or app is not in a state that allows the request.

    For a request on a run, the run's state was read after the refusal, whatever its 4xx status
    and text (client/refusals.py); for others, a 409 or a 400 naming a state.
    """


class PsevenBadRequestError(PsevenHTTPError):
    """400: the server rejected the request's content."""


class PsevenServerError(PsevenHTTPError):
    """5xx, or 429, still failing after the retry budget was spent."""


class PsevenNotJsonError(PsevenError):
    """The server answered with something that is not the pSeven REST API (usually an HTML page).

    That almost always means a wrong host or base path, or a login page / proxy in front of the API.
    """

    def __init__(self, method: str, url: str, status: int, content_type: str, snippet: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.content_type = content_type
        self.snippet = snippet
        kind = (
            "an HTML page"
            if "html" in content_type.lower() or snippet.lstrip().startswith("<")
            else (f"non-JSON content ({content_type or 'no content type'})")
        )
        super().__init__(
            f"{method} {url} answered HTTP {status} with {kind}, not pSeven REST API JSON. "
            "Check the connection's host (the pSeven Enterprise sign-in URL, e.g. https://app.pseven.io) "
            "and its api_path ('auto', '.rest' or '@rest'); a sign-in page or proxy in front of the API "
            f"answers like this. The answer began with: {snippet[:120]!r}"
        )


class PsevenBadAnswerError(PsevenError):
    """The server answered, but with a body this client will not use: too large, nested too deeply,
    or with a field of the wrong type (``"size": "12kB"``, ``"parameters": 5``).

    Not retried: the same server gives the same answer. ``excerpt`` is the answer's beginning,
    escaped, so a hostile body cannot forge log lines.
    """

    def __init__(self, method: str, path: str, status: int, reason: str, excerpt: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.excerpt = excerpt
        super().__init__(
            f"{method} {path} answered HTTP {status} with a body this client cannot use: {reason}. "
            f"A pSeven Enterprise server does not answer like this: check that the connection's host "
            f"is the pSeven sign-in URL and that no proxy rewrites answers. The answer began with: "
            f"{excerpt}"
        )


class PsevenUnsafeNameError(PsevenError):
    """A name the server listed cannot be a local file name (``..``, a slash, a control character):
    nothing is written under it."""


class PsevenTreeLimitError(PsevenError):
    """A recursive listing went over a limit of depth, entries or bytes (a listing that repeats
    itself, or a tree too big to fetch at once)."""


class PsevenApiNotFoundError(PsevenError):
    """Base path detection found no pSeven REST API under either ``@rest`` or ``.rest``."""

    def __init__(self, host: str, tried: list[str]) -> None:
        self.host = host
        self.tried = tried
        super().__init__(
            f"No pSeven REST API found at {host}: " + "; ".join(tried) + ". Check the connection's host: "
            "it must be the pSeven Enterprise sign-in URL (e.g. https://app.pseven.io), and its "
            "api_path ('auto', '.rest' or '@rest'); an HTML answer usually means a wrong host or a "
            "sign-in page or proxy in front of the API"
        )


class PsevenTransportError(PsevenError):
    """The request did not get an answer: connection refused or dropped, timeout, truncated body."""

    def __init__(self, method: str, path: str, reason: str, *, sent: bool) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        #: False when the request surely never reached the server (resending it is always safe).
        self.sent = sent
        super().__init__(f"{method} {path}: {reason}")


class PsevenRequestMayHaveSucceeded(PsevenTransportError):
    """A request that must not run twice (deploy, start, publish, push, upload) lost its answer.

    It was not resent, because the server may have carried it out. Check the state (the operators do)
    before doing it again.
    """

    def __init__(self, method: str, path: str, reason: str, *, sent: bool = True) -> None:
        super().__init__(method, path, reason, sent=sent)
        self.args = (
            f"{method} {path}: {reason}. The request may have reached the server, so it was not resent "
            "(doing so could deploy, start or publish twice); check the run's state before repeating it",
        )


class PsevenLookupError(PsevenError):
    """A workflow, app or parameter given by name matched none or several; lists the candidates."""

    def __init__(self, what: str, given: str, candidates: list[str], *, ambiguous: bool = False) -> None:
        self.what = what
        self.given = given
        self.candidates = candidates
        self.ambiguous = ambiguous
        shown = ", ".join(repr(c) for c in candidates[:30]) or "none"
        if len(candidates) > 30:
            shown += f", ... ({len(candidates)} in all)"
        if ambiguous:
            message = f"{what} {given!r} is ambiguous: it matches {shown}. Use an id or a full path instead"
        else:
            message = f"Unknown {what} {given!r}. Valid values: {shown}"
        super().__init__(message)


class PsevenRunStateError(PsevenError):
    """A run is, by its own details, in a state that does not allow what was asked (checked before
    sending anything)."""

    def __init__(self, run_id: str, state: str, message: str) -> None:
        self.run_id = run_id
        self.state = state
        super().__init__(message)


class PsevenWaitTimeout(PsevenError):
    """Something waited for (a state, a deletion, results) did not happen before its deadline."""


class PsevenUnsafeURLError(PsevenError):
    """A URL from the server points at another host: the token is never sent there."""
