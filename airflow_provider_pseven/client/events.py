"""Which runs of a workflow (or app) to report as events, and what to remember about them.

Pure and sans-I/O: the functions here take a runs list (``workflows/{id}/runs/``) and the watermark
(what a watcher already reported), and say which runs to report now and what the new watermark is.
``triggers/run_event.py`` runs them in the triggerer and keeps the watermark in Airflow's asset
state store.

What the guide gives a watcher, and what follows:

- The runs list shows every run's id and state, and no time (the guide's example has none), so a
  watermark cannot be "the last time we looked". It is the set of run ids already seen in a
  terminal state. A run reaches a terminal state (FINISHED, FAILED, INTERRUPTED) once and leaves
  it only by being deleted, so a run id seen terminal is done with for good.
- Run ids are unique and never reused (the guide: 32 hex digits, "generated"); a deleted run does
  not come back. A run missing from one list and back in the next (a server paging or syncing its
  list) is still the same run, so ids are forgotten only after ``FORGET_AFTER`` of absence.
- The set is stored as 6-byte digests of the ids (8 base64 characters each), so it stays within
  Airflow's 64 KB state-store guideline up to about 8,000 runs listed at once. Two runs sharing a
  48-bit digest (odds about 2e-7 among 10,000 runs) would make the second one never reported.

Exactly once: a run is reported when it is first seen terminal; before its event is handed to
Airflow, the run goes into ``pending`` (written to the store), and once Airflow has stored the event
it moves to ``seen`` (written again). A watcher that restarts reads both: ``seen`` runs are never
reported again; a ``pending`` run is one whose event may or may not have been stored when the
triggerer stopped (a crash between those two writes), and it is reported again, marked
``redelivered``: at least once, never lost.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_pseven.client import errors
from airflow_provider_pseven.client.appshub import resolve_app
from airflow_provider_pseven.client.calls import Op, Sleep
from airflow_provider_pseven.client.event_payload import EVENT_BYTES, batch_payload, fitting, payload
from airflow_provider_pseven.client.models import FileEntry, Run, RunKind, RunState
from airflow_provider_pseven.client.operations import (
    list_runs,
    resolve_workflow,
)
from airflow_provider_pseven.client.refs import RunRef
from airflow_provider_pseven.client.run_files import list_files
from airflow_provider_pseven.client.text import client_logger

log = client_logger()

WATERMARK_VERSION = 1
DIGEST_BYTES = 6
#: A run id absent from the runs list this long (on the triggerer's clock) is forgotten.
FORGET_AFTER = 7 * 24 * 3600.0
#: At most this many absent ids are remembered; the longest-absent go first.
MAX_ABSENT = 4096
TERMINAL = frozenset({RunState.FINISHED, RunState.FAILED, RunState.INTERRUPTED})
#: Run fields a newer server may carry with the time a run ended (the guide shows none).
END_TIME_FIELDS = ("finished", "finished_at", "end_time", "ended", "ended_at", "updated", "modified")


def digest(run_id: str) -> bytes:
    return hashlib.blake2b(run_id.encode("utf-8"), digest_size=DIGEST_BYTES).digest()


def _pack(digests: Iterable[bytes]) -> str:
    return base64.b64encode(b"".join(sorted(digests))).decode("ascii")


def _unpack(text: str) -> set[bytes]:
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % DIGEST_BYTES:
        raise ValueError("the seen set is not a whole number of digests")
    return {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}


class WatermarkError(ValueError):
    """A stored watermark that cannot be read (another format, or damaged)."""


@dataclass
class Watermark:
    """What one watcher has reported, as kept in the asset state store.

    ``seen``: digests of run ids seen terminal (reported, or ended before the watcher started or in
    a state it does not report). ``pending``: run id -> the poll that reported it, or None for a
    run read back from the store as pending (its event may not have been stored). ``absent``:
    digest -> when (triggerer clock) a seen run was first missing from the list.
    """

    identity: str
    started: float
    seen: set[bytes] = field(default_factory=set)
    pending: dict[str, int | None] = field(default_factory=dict)
    absent: dict[bytes, float] = field(default_factory=dict)

    def copy(self) -> Watermark:
        return Watermark(self.identity, self.started, set(self.seen), dict(self.pending), dict(self.absent))

    def to_json(self) -> dict[str, Any]:
        return {
            "v": WATERMARK_VERSION,
            "identity": self.identity,
            "started": round(self.started, 3),
            "seen": _pack(self.seen),
            "pending": sorted(self.pending),
            "absent": {base64.b64encode(d).decode("ascii"): round(t) for d, t in self.absent.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> Watermark:
        if not isinstance(data, Mapping) or data.get("v") != WATERMARK_VERSION:
            raise WatermarkError(f"not a version-{WATERMARK_VERSION} pSeven run watermark")
        try:
            absent = {base64.b64decode(k, validate=True): float(v) for k, v in dict(data["absent"]).items()}
            return cls(
                identity=str(data["identity"]),
                started=float(data["started"]),
                seen=_unpack(str(data["seen"])),
                # Whatever was pending when it was written is in doubt now: None, not a poll number.
                pending=dict.fromkeys((str(r) for r in data["pending"]), None),
                absent=absent,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise WatermarkError(f"damaged pSeven run watermark: {error}") from None


def is_terminal(run: Run) -> bool:
    return run.state in TERMINAL


def baseline(identity: str, runs: Sequence[Run], now: float) -> Watermark:
    """The first watermark: every run already terminal counts as seen, so only runs that end from
    now on are reported (the watcher's start is its first successful look at the list)."""
    return Watermark(identity, now, seen={digest(r.id) for r in runs if is_terminal(r)})


@dataclass(frozen=True)
class Selection:
    """What one look at the runs list decided: the runs to report now (in list order), those among
    them that are in doubt (reported again after a restart), and whether the watermark changed."""

    report: tuple[Run, ...] = ()
    redelivered: frozenset[str] = frozenset()
    changed: bool = False


def select(
    mark: Watermark,
    runs: Sequence[Run],
    states: Collection[RunState],
    poll: int,
    now: float,
    *,
    defer: Collection[str] = (),
) -> Selection:
    """Update ``mark`` for the runs list ``runs`` (seen at ``now``, poll number ``poll``); return
    the runs to report.

    A run is reported the first time it is seen terminal in one of ``states``; seen terminal in
    another state, it is remembered and never reported. ``defer`` names runs to leave for a later
    look (their results could not be read yet). Server times are not used: which runs are new
    depends only on ids and states, so a server clock that is off changes nothing.
    """
    report: list[Run] = []
    redelivered: set[str] = set()
    changed = False
    listed: set[bytes] = set()
    for run in runs:
        key = digest(run.id)
        listed.add(key)
        if mark.absent.pop(key, None) is not None:
            changed = True  # back in the list: the same run, already seen
        if not is_terminal(run) or key in mark.seen:
            continue
        if run.id in mark.pending:
            if mark.pending[run.id] is None and run.id not in defer:
                # Pending when the store was last written: its event may never have been stored.
                mark.pending[run.id] = poll
                redelivered.add(run.id)
                report.append(run)
                changed = True
            continue
        if run.state not in states:
            mark.seen.add(key)
            changed = True
            continue
        if run.id in defer:
            continue
        mark.pending[run.id] = poll
        report.append(run)
        changed = True
    for run_id in [r for r, at in mark.pending.items() if at is None and digest(r) not in listed]:
        # In doubt, and gone from the list: nothing can be reported; absence now decides.
        del mark.pending[run_id]
        mark.seen.add(digest(run_id))
        changed = True
    for key in mark.seen - listed:
        if key not in mark.absent:
            mark.absent[key] = now
            changed = True
    changed |= _forget(mark, now)
    return Selection(tuple(report), frozenset(redelivered), changed)


def _forget(mark: Watermark, now: float) -> bool:
    """Drop runs absent for ``FORGET_AFTER`` (a clock that jumped back counts as no time passing),
    and the longest-absent beyond ``MAX_ABSENT``."""
    gone = [key for key, since in mark.absent.items() if now - since >= FORGET_AFTER]
    if len(mark.absent) - len(gone) > MAX_ABSENT:
        rest = sorted((since, key) for key, since in mark.absent.items() if key not in set(gone))
        gone += [key for _, key in rest[: len(rest) - MAX_ABSENT]]
    for key in gone:
        mark.absent.pop(key, None)
        mark.seen.discard(key)
    return bool(gone)


def confirm(mark: Watermark, poll: int) -> list[str]:
    """Airflow stored the events reported at ``poll`` (and before): those runs move from
    ``pending`` to ``seen``. Returns the run ids moved."""
    done = [run_id for run_id, at in mark.pending.items() if at is not None and at <= poll]
    for run_id in done:
        del mark.pending[run_id]
        mark.seen.add(digest(run_id))
    return done


def forget_pending(mark: Watermark, run_ids: Iterable[str]) -> None:
    """Take back runs whose events were never handed over (the store write before them failed)."""
    for run_id in run_ids:
        mark.pending.pop(run_id, None)


# --- backfill (``since``) ----------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from a datetime, an ISO-8601 text or a Unix time; None when it is none.

    A time without a zone is read in the triggerer's local zone (as the emulator writes them; the
    guide's ``modified`` example has no zone either).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.astimezone()


def end_time(run: Run, entries: Sequence[FileEntry] = ()) -> datetime | None:
    """When a run ended, as the server tells it: a time field of the run if the server has one,
    else the newest ``modified`` of its run directory (the run log is written until the end)."""
    for name in END_TIME_FIELDS:
        moment = parse_time(run.raw.get(name))
        if moment is not None:
            return moment
    times = [e.modified if e.modified.tzinfo else e.modified.astimezone() for e in entries if e.modified]
    return max(times) if times else None


def backfill(candidates: Sequence[Run], ended: Mapping[str, datetime | None], since: datetime) -> list[Run]:
    """The terminal runs a first start reports because they ended at or after ``since``; a run
    whose end time the server does not tell is reported too (a backfill would rather include it)."""
    chosen = []
    for run in candidates:
        moment = ended.get(run.id)
        if moment is None or moment >= since:
            chosen.append(run)
    return chosen


def run_end_time(ref: RunRef, run: Run) -> Op[datetime | None]:
    """:func:`end_time`, listing the run directory only when the run itself has no time field."""
    moment = end_time(run)
    if moment is not None:
        return moment
    entries = yield from list_files(ref)
    return end_time(run, entries)


# --- polling -----------------------------------------------------------------------------------


def resolve_parent(kind: RunKind, spec: str) -> Op[str]:
    """The id of the workflow (id, storage path or unique name) or app (id or unique name)."""
    if kind is RunKind.WORKFLOW:
        return (yield from resolve_workflow(spec)).id
    return (yield from resolve_app(spec)).id


def poll_runs(kind: RunKind, parent_id: str) -> Op[list[Run]]:
    """One look at the runs list: the one request a watcher stream makes per interval."""
    return (yield from list_runs(kind, parent_id))


def pause(seconds: float, *, aligned: bool) -> Op[None]:
    """Wait on the client's clock, aligned to its phase so the streams of one triggerer wake
    together (as run waits do)."""
    yield Sleep(seconds, aligned=aligned)


@dataclass(frozen=True)
class Trouble:
    """How a failed look at the runs list is handled: ``transient`` errors are retried at the poll
    interval (or later, as the server's Retry-After asks); others need a person, and are retried at
    a slow pace with a message saying what to fix."""

    transient: bool
    message: str
    retry_after: float | None = None


def trouble(error: BaseException, what: str, conn_id: str) -> Trouble:
    """Classify a polling error and word it for the triggerer log (never with a credential)."""
    if isinstance(error, (errors.PsevenTransportError, errors.PsevenServerError)):
        return Trouble(True, f"{what}: {error}; polling again", getattr(error, "retry_after", None))
    if isinstance(error, errors.PsevenAuthError):
        fix = (
            f"the API token of connection {conn_id!r} was refused (revoked or expired?), or its user "
            f"may not see {what}: create a new token (Studio: user menu > API token) and update the "
            "connection"
        )
    elif isinstance(error, (errors.PsevenNotFoundError, errors.PsevenLookupError)):
        fix = (
            f"{what} does not exist (deleted, renamed, or not visible to the connection's user): "
            "restore it, or fix the watcher's workflow=/app= and redeploy the DAG"
        )
    elif isinstance(
        error,
        (
            errors.PsevenNotJsonError,
            errors.PsevenApiNotFoundError,
            errors.PsevenUnsafeURLError,
            errors.PsevenConfigError,
        ),
    ):
        fix = f"connection {conn_id!r} does not reach a pSeven Enterprise REST API (wrong host?)"
    elif isinstance(error, errors.PsevenHTTPError):
        fix = f"the server refused to list the runs of {what}"
    elif isinstance(error, errors.PsevenError):
        fix = f"reading the runs of {what} failed"
    else:
        fix = f"reading the runs of {what} failed unexpectedly ({type(error).__name__})"
    return Trouble(False, f"{fix}. {error}")


@dataclass
class Pacer:
    """The time until the next look: the interval after a success or a transient error (or the
    server's Retry-After, if longer); after an error that needs a person, ``slow`` seconds, doubling
    while it lasts up to ``slowest``. Never shorter than ``interval``: no busy loop."""

    interval: float
    slow: float = 120.0
    slowest: float = 900.0
    _repeats: int = 0

    def after(self, outcome: Trouble | None) -> float:
        if outcome is None:
            self._repeats = 0
            return self.interval
        if outcome.transient:
            self._repeats = 0
            return max(self.interval, outcome.retry_after or 0.0)
        delay = min(self.slowest, max(self.slow, self.interval) * 2 ** min(self._repeats, 10))
        self._repeats += 1
        return max(self.interval, delay)


__all__ = [
    "EVENT_BYTES",
    "FORGET_AFTER",
    "MAX_ABSENT",
    "Pacer",
    "Selection",
    "Trouble",
    "Watermark",
    "WatermarkError",
    "backfill",
    "baseline",
    "batch_payload",
    "confirm",
    "digest",
    "end_time",
    "fitting",
    "forget_pending",
    "parse_time",
    "pause",
    "payload",
    "poll_runs",
    "resolve_parent",
    "run_end_time",
    "select",
    "trouble",
]
