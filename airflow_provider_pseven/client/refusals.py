"""What a refused state-dependent request means, decided by reading the run's state.

The guide names no status for a request the run's state does not allow: "Verify that the run
state is CONFIGURATION, otherwise your run setup requests will be rejected" (Run deployment) and
"Codes of the 4xx or 5xx class indicate an error" (Error handling). A server may answer 400, 403,
409 or 422, with a text that names a state or not. So after any 4xx but 401, 404 and 407 (and 429,
which is retried) on a request only some states allow (start, interrupt, delete, PATCH, upload,
message push and pop), the run is read, and its state decides:

- the state does not allow the request: :class:`PsevenStateError`, naming the state read;
- it does: the server refused for another reason, and its error stands as it is (a 403 then is a
  missing permission for this one action);
- the run cannot be read either: the original error stands (a 403 is then an authentication
  problem, as for any other request).

Callers catch :class:`PsevenStateError` only, which therefore always means "the state was read".
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from airflow_provider_pseven.client.calls import Call, Op, Reply
from airflow_provider_pseven.client.errors import (
    PsevenAuthError,
    PsevenBadRequestError,
    PsevenError,
    PsevenHTTPError,
    PsevenStateError,
)
from airflow_provider_pseven.client.models import Run, RunState

if TYPE_CHECKING:
    from airflow_provider_pseven.client.refs import RunRef

#: 4xx answers that never stand for a state refusal: credentials, a missing thing, the proxy's own
#: authentication, and "too many requests" (retried by the drivers).
NOT_STATE = frozenset({401, 404, 407, 429})

CONFIGURATION = frozenset({RunState.CONFIGURATION})
RUNNING = frozenset({RunState.RUNNING})
DELETABLE = frozenset(s for s in RunState if s.is_deletable)


def may_be_state_refusal(error: BaseException) -> bool:
    return isinstance(error, PsevenHTTPError) and 400 <= error.status < 500 and error.status not in NOT_STATE


def _needed(allowed: Collection[RunState]) -> str:
    names = sorted(s.value for s in allowed)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _plain(error: PsevenHTTPError, run: Run) -> PsevenHTTPError:
    """The error as its status alone classifies it, since the run's state allowed the request
    (check_reply's guess of a state refusal, from a 409 or a state word in a 400, is overruled)."""
    if isinstance(error, PsevenAuthError):
        hint = f"the run is readable and {run.state_text}: the user may lack the permission for this action"
        return PsevenAuthError(error.method, error.path, error.status, error.detail, hint)
    if not isinstance(error, PsevenStateError):
        return error
    cls = PsevenBadRequestError if error.status == 400 else PsevenHTTPError
    return cls(error.method, error.path, error.status, error.detail, error.hint)


def state_checked(ref: RunRef, call: Call, allowed: Collection[RunState]) -> Op[Reply]:
    """Send ``call``; if it is refused with a 4xx that may be about the run's state, read the run
    and raise what the refusal means (see the module docstring)."""
    try:
        reply = yield call
    except PsevenHTTPError as error:
        if not may_be_state_refusal(error):
            raise
        refused = error
    else:
        assert isinstance(reply, Reply)
        return reply
    try:
        read = yield Call("GET", ref.path(), base=ref.base)
        assert isinstance(read, Reply)
        run = read.model(Run.from_json)
    except PsevenError:
        raise refused from None
    if run.state in allowed:
        raise _plain(refused, run) from None
    raise PsevenStateError(
        refused.method,
        refused.path,
        refused.status,
        refused.detail,
        f"run {ref.run_id} is {run.state_text}, and this request needs {_needed(allowed)}",
    ) from None


__all__ = ["CONFIGURATION", "DELETABLE", "NOT_STATE", "RUNNING", "may_be_state_refusal", "state_checked"]
