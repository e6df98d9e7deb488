"""Every endpoint of pSeven REST API v2, described once.

Each function returns an :data:`~airflow_provider_pseven.client.calls.Op`: a generator that yields
the requests to make (and pauses), receives the answers and returns a typed result. The sync and
async clients run the same generators, so the protocol is written exactly once.

Retry classes (see :class:`~airflow_provider_pseven.client.calls.Retry`), per endpoint:

=========================================  ============  ==============================================
endpoint                                   retry         why
=========================================  ============  ==============================================
auth/login/ POST                           SAFE          asking for a token twice changes nothing
GET anything (lists, details, ls, download) SAFE          reads
runs/{id}/ PATCH                           SAFE          the same body sets the same values again
runs/{id}/ DELETE                          SAFE          a repeat answers 404, which we take as done
runs/{id}/interrupt/ POST                  SAFE          interrupting twice at worst meets a state error
runs/ POST (deploy)                        UNSENT_ONLY   a resend would deploy a second run
runs/{id}/run/ POST (start)                UNSENT_ONLY   only CONFIGURATION may be started; check first
runs/{id}/upload/ POST                     UNSENT_ONLY   re-sending a large body blindly wastes time; the
                                                         operator re-uploads after checking the state
runs/{id}/message_push/ POST               UNSENT_ONLY   a resend would deliver the message twice
runs/{id}/message_pop/ POST                UNSENT_ONLY   a lost answer already consumed its message
apps/ POST (publish)                       UNSENT_ONLY   a resend would publish another version
=========================================  ============  ==============================================

``UNSENT_ONLY`` requests are still resent after a refused connection, a connect timeout, 429 or
503; after anything else they raise :class:`PsevenRequestMayHaveSucceeded`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar
from urllib.parse import quote

from airflow_provider_pseven.client.calls import Base, Call, Op, Reply, Retry, Sleep, Watch
from airflow_provider_pseven.client.config import API_PATHS
from airflow_provider_pseven.client.errors import (
    PsevenApiNotFoundError,
    PsevenAuthError,
    PsevenBadRequestError,
    PsevenConfigError,
    PsevenError,
    PsevenLookupError,
    PsevenNotFoundError,
    PsevenWaitTimeout,
)
from airflow_provider_pseven.client.ids import check_id
from airflow_provider_pseven.client.models import (
    Run,
    RunKind,
    RunState,
    Workflow,
)
from airflow_provider_pseven.client.multipart import MultipartBody
from airflow_provider_pseven.client.refs import RunRef, runs_path
from airflow_provider_pseven.client.refusals import CONFIGURATION, DELETABLE, RUNNING, state_checked
from airflow_provider_pseven.client.text import client_logger

T = TypeVar("T")

log = client_logger()

HEX_ID = re.compile(r"^[0-9a-f]{32}(@\d+)?$")


def form_fields(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Form fields as the guide's examples send them: booleans as ``True``/``False``."""
    return [
        (key, ("True" if value else "False") if isinstance(value, bool) else str(value))
        for key, value in fields.items()
    ]


def base_of(kind: RunKind) -> Base:
    return Base.PSEVEN if kind is RunKind.WORKFLOW else Base.APPSHUB


# --- access -------------------------------------------------------------------------------------


def login(username: str, password: str) -> Op[str]:
    """Exchange a login and password for an API token (``auth/login/``)."""
    try:
        reply = yield Call(
            "POST", "auth/login/", json={"username": username, "password": password}, authenticated=False
        )
    except (PsevenBadRequestError, PsevenAuthError) as error:
        raise PsevenAuthError(
            "POST",
            "auth/login/",
            error.status,
            error.detail,
            f"signing in as {username!r} failed: check the connection's Login and Password, "
            "or leave Login empty and set Password to an API token",
        ) from None
    assert isinstance(reply, Reply)
    token = reply.json_object().get("token")
    if not isinstance(token, str) or not token:
        raise PsevenError("auth/login/ answered without a token")
    return token


def detect_api_path(keep_listing: Callable[[Reply], None] | None = None) -> Op[str]:
    """Find whether the server spells its API base ``@rest`` (newer) or ``.rest`` (older).

    Any JSON answer other than 404 from ``workflows/`` (even 403 without a token) means the API is
    there; a sign-in HTML page or a 404 means it is not. A 200 answer is the workflows list itself:
    ``keep_listing`` gets it, so the client's next ``workflows/`` call need not ask again.
    """
    tried: list[str] = []
    host = ""
    for candidate in ("@rest", ".rest"):
        path = f"pseven/{candidate}/v2/workflows/"
        reply = yield Call("GET", path, base=Base.SITE, raw=True)
        assert isinstance(reply, Reply)
        host = reply.url.split("/pseven/", 1)[0]
        if reply.is_json and reply.status != 404:
            log.info("pSeven REST API found at %s", reply.url.rsplit("workflows/", 1)[0])
            if reply.status == 200 and keep_listing is not None:
                keep_listing(reply)
            return candidate
        tried.append(f"{reply.url} answered HTTP {reply.status} ({reply.content_type or 'no content type'})")
    raise PsevenApiNotFoundError(host, tried)


# --- workflows -------------------------------------------------------------------------


def top_level_list(path: str, base: Base, build: Callable[[dict[str, Any]], T]) -> Op[list[T]]:
    """A top-level list (``workflows/``, ``apps/``). The API always has one, so a 404 there means
    the API is not at this base path (a wrong host or api_path), not that a thing is missing."""
    try:
        reply = yield Call("GET", path, base=base)
    except PsevenNotFoundError as error:
        raise PsevenApiNotFoundError(
            "the configured base path",
            [f"GET {error.path} answered HTTP 404 ({error.detail or 'no detail'})"],
        ) from None
    assert isinstance(reply, Reply)
    return reply.models(build)


def list_workflows() -> Op[list[Workflow]]:
    return (yield from top_level_list("workflows/", Base.PSEVEN, Workflow.from_json))


def get_workflow(workflow_id: str) -> Op[Workflow]:
    reply = yield Call("GET", f"workflows/{quote(check_id('workflow_id', workflow_id), safe='')}/")
    assert isinstance(reply, Reply)
    return reply.model(Workflow.from_json)


def pick_one(what: str, spec: str, items: Sequence[Any], keys: Iterable[Callable[[Any], str]]) -> Any:
    """The one item whose id, path or name equals ``spec``, else a lookup error naming candidates."""
    for key in keys:
        matches = [item for item in items if key(item) == spec]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise PsevenLookupError(what, spec, [f"{m.path} (id {m.id})" for m in matches], ambiguous=True)
    raise PsevenLookupError(what, spec, sorted(f"{item.name} ({item.path})" for item in items))


@dataclass(frozen=True)
class Lookup:
    """How a user may name a workflow or an app: ``keys`` are the attributes a name is matched
    against, in order; ``forms`` says so in the error for an empty name."""

    what: str
    keys: tuple[str, ...]
    forms: str


WORKFLOW_LOOKUP = Lookup("workflow", ("id", "path", "name"), "an id, a storage path or a unique name")


def resolve(
    lookup: Lookup, spec: str, get_one: Callable[[str], Op[T]], list_all: Callable[[], Op[list[T]]]
) -> Op[T]:
    """The one item ``spec`` names: an id is asked for directly (one request); anything else, or
    an id no item has, is looked up in the list by each of ``lookup.keys`` in turn."""
    if not spec or not spec.strip():
        raise PsevenConfigError(f"{lookup.what} is empty: give {lookup.forms}")
    spec = spec.strip()
    if HEX_ID.match(spec):
        try:
            return (yield from get_one(spec))
        except PsevenNotFoundError:
            pass
    items = yield from list_all()
    chosen: T = pick_one(lookup.what, spec, items, [attrgetter(key) for key in lookup.keys])
    return chosen


def resolve_workflow(spec: str) -> Op[Workflow]:
    """A workflow given as id, storage path (``/Users/1/ToyWorkflow.p7wf``) or unique name."""
    return (yield from resolve(WORKFLOW_LOOKUP, spec, get_workflow, list_workflows))


# --- runs ---------------------------------------------------------------------------------------


def list_runs(kind: RunKind, parent_id: str) -> Op[list[Run]]:
    reply = yield Call("GET", runs_path(kind, parent_id), base=base_of(kind))
    assert isinstance(reply, Reply)
    return reply.models(Run.from_json)


def find_run(kind: RunKind, parent_id: str, name: str) -> Op[Run | None]:
    """The run of this workflow or app named ``name``, if there is one."""
    runs = yield from list_runs(kind, parent_id)
    for run in runs:
        if run.name == name:
            return run
    return None


def deploy_run(
    kind: RunKind,
    parent_id: str,
    *,
    name: str | None = None,
    path: str | None = None,
    personal: bool | None = None,
) -> Op[Run]:
    """Deploy a new run (state QUEUED_TO_INITIALIZE). ``path`` needs ``name``; apps take ``personal``."""
    body: dict[str, Any] = {}
    if path:
        if kind is RunKind.APP:
            raise PsevenConfigError("AppsHub runs cannot be deployed to a path; leave run_path unset")
        if not name:
            raise PsevenConfigError("Deploying to a path needs a run name too (the guide requires both)")
        body["path"] = path
    if name:
        body["name"] = name
    if personal is not None:
        if kind is not RunKind.APP:
            raise PsevenConfigError("personal applies to AppsHub app runs only")
        body["personal"] = personal
    call = Call("POST", runs_path(kind, parent_id), base=base_of(kind), json=body, retry=Retry.UNSENT_ONLY)
    if kind is RunKind.APP:
        # The guide deploys app runs with form fields (``data=settings``, ``curl -F``), not JSON.
        call = Call(
            "POST",
            runs_path(kind, parent_id),
            base=base_of(kind),
            body=MultipartBody(form_fields(body), []),
            retry=Retry.UNSENT_ONLY,
        )
    reply = yield call
    assert isinstance(reply, Reply)
    return reply.model(Run.from_json)


def _no_such_run(ref: RunRef, error: PsevenNotFoundError) -> PsevenNotFoundError:
    """The same 404, saying which ids to check (it stays a PsevenNotFoundError for callers)."""
    return PsevenNotFoundError(
        error.method,
        error.path,
        error.status,
        error.detail,
        f"no run {ref.run_id!r} of {ref.kind.id_field} {ref.parent_id!r}: check run_id and "
        f"{ref.kind.id_field} (usually an upstream task's XCom); the run may have been deleted",
    )


def get_run(ref: RunRef) -> Op[Run]:
    try:
        reply = yield Call("GET", ref.path(), base=ref.base)
    except PsevenNotFoundError as error:
        raise _no_such_run(ref, error) from None
    assert isinstance(reply, Reply)
    return reply.model(Run.from_json)


def get_run_summary(ref: RunRef, *, unless: str | None = None, pause: Sleep | None = None) -> Op[Run]:
    """The run's summary (state, name, path, url), which its runs list also carries.

    Marked as answerable from ``runs/``, so an async client polling many runs of one workflow may
    answer them all with one list request. Parameters and results are not in a summary. With
    ``pause``: the summary once the state is no longer ``unless``, looked at after each pause
    (a :class:`~airflow_provider_pseven.client.calls.Watch`).
    """
    call = Call("GET", ref.path(), base=ref.base, listed_in=ref.runs_path, item_id=ref.run_id)
    try:
        reply = yield (call if pause is None else Watch(call, unless, pause))
    except PsevenNotFoundError as error:
        raise _no_such_run(ref, error) from None
    assert isinstance(reply, Reply)
    return reply.model(Run.from_json)


def start_run(ref: RunRef) -> Op[None]:
    """Start a CONFIGURATION run (``run/``); it goes to QUEUED_TO_RUN at once."""
    yield from state_checked(
        ref, Call("POST", ref.path("run/"), base=ref.base, retry=Retry.UNSENT_ONLY), CONFIGURATION
    )


def interrupt_run(ref: RunRef) -> Op[None]:
    """Interrupt a RUNNING run (``interrupt/``); it ends INTERRUPTED."""
    yield from state_checked(ref, Call("POST", ref.path("interrupt/"), base=ref.base), RUNNING)


def delete_run(ref: RunRef, *, wait: bool = True, polls: int = 240, interval: float = 0.5) -> Op[bool]:
    """Delete a run and, with ``wait``, poll (at most ``polls`` times) until it answers 404, as the
    guide advises. Returns False when the run was already gone (a repeat of a delete succeeds).
    """
    try:
        yield from state_checked(ref, Call("DELETE", ref.path(), base=ref.base), DELETABLE)
    except PsevenNotFoundError:
        return False
    if not wait:
        return True
    for _ in range(polls):
        try:
            yield Call("GET", ref.path(), base=ref.base)
        except PsevenNotFoundError:
            return True
        yield Sleep(interval)
    raise PsevenWaitTimeout(f"Run {ref.run_id} still exists {polls * interval:g} s after it was deleted")


def get_results(ref: RunRef, *, lag_timeout: float = 30.0, interval: float = 1.0) -> Op[Run]:
    """Run details with results; an empty ``results`` right after FINISHED is re-read for a while.

    Results can be filled a moment after the state flips to FINISHED (DESIGN.md); ``lag_timeout``
    bounds the re-reads.
    """
    run = yield from get_run(ref)
    for _ in range(math.ceil(lag_timeout / interval)):
        if run.state is not RunState.FINISHED or run.results:
            break
        yield Sleep(interval)
        run = yield from get_run(ref)
    if run.state is RunState.FINISHED and not run.results:
        log.warning("Run %s is FINISHED but shows no results after %.0f s", ref.run_id, lag_timeout)
    return run


def message_push(ref: RunRef, message: str, channel: str | None = None) -> Op[None]:
    """Send a message to the run (client-to-platform queue); the server answers 202."""
    body: dict[str, Any] = {"message": message}
    if channel:
        body["channel"] = channel
    call = Call("POST", ref.path("message_push/"), base=ref.base, json=body, retry=Retry.UNSENT_ONLY)
    yield from state_checked(ref, call, RUNNING)


def message_pop(ref: RunRef, channel: str | None = None) -> Op[str | None]:
    """Take one message from the run (platform-to-client queue); None when it is empty (204)."""
    body = {"channel": channel} if channel else {}
    call = Call("POST", ref.path("message_pop/"), base=ref.base, json=body, retry=Retry.UNSENT_ONLY)
    reply = yield from state_checked(ref, call, RUNNING)
    if reply.status == 204 or not reply.content.strip():
        return None
    message = reply.json_object().get("message")
    return None if message is None else str(message)


__all__ = [
    "API_PATHS",
    "HEX_ID",
    "RunRef",
    "base_of",
    "delete_run",
    "deploy_run",
    "detect_api_path",
    "find_run",
    "form_fields",
    "get_results",
    "get_run",
    "get_run_summary",
    "get_workflow",
    "interrupt_run",
    "list_runs",
    "list_workflows",
    "login",
    "message_pop",
    "message_push",
    "pick_one",
    "resolve_workflow",
    "runs_path",
    "start_run",
    "top_level_list",
]
