"""RunEventTrigger: every run of a workflow (or app) that ends reaches one DAG run, through one asset
event per look that carries every run the look found ended (``pseven_runs`` reads them in a DAG).

For event-driven scheduling (Airflow 3.3+)::

    Asset("pseven://app.pseven.io/Users/1/ToyWorkflow.p7wf", watchers=[AssetWatcher(
        name="toy_finished", trigger=RunEventTrigger(workflow="/Users/1/ToyWorkflow.p7wf"))])

How it runs in the triggerer (docs/events.md):

- One event per look, not per run: Airflow 3.3.2 queues one DAG run per (asset, DAG) and leaves an
  event stored while that queue row waits behind it (docs/events.md). A look's runs over
  ``EVENT_BYTES`` go in later looks' events, never cut.
- One polling stream per (connection, workflow or app, poll interval), shared by every watcher on
  it (``shared_stream_key``): one runs-list request per interval, however many watchers.
- Each watcher keeps its watermark (client/events.py) in the asset state store of its assets, and
  the stream runs in Airflow's ack mode: a reported run moves from "pending" to "seen" only after
  the triggerer has stored its event in the metadata database.
- Errors never end a watcher: transient ones are retried at the interval (or the server's
  Retry-After); a deleted workflow, a refused token or a wrong host is logged with what to fix and
  retried at a slow pace. An asset state store that cannot be read or written holds the events
  back until it can; nothing is reported without its watermark written first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable, Sequence
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_pseven.client import RunKind, RunState
from airflow_provider_pseven.client import events as ev
from airflow_provider_pseven.compat import require_event_watchers
from airflow_provider_pseven.hooks.pseven import PsevenHook
from airflow_provider_pseven.triggers.run_stream import RunsStream, Snapshot, acked_producer
from airflow_provider_pseven.triggers.watermark_store import WatermarkStore, store_key


class RunEventTrigger(BaseEventTrigger):
    """An asset watcher's trigger: one event per look carrying the runs of ``workflow`` (or ``app``)
    that reached one of ``states`` since the last.

    :param workflow: the workflow: id, storage path (``/Users/1/ToyWorkflow.p7wf``) or unique name.
    :param app: or an AppsHub app: id or unique name.
    :param states: the terminal states to report (any of FINISHED, FAILED, INTERRUPTED).
    :param poll_interval: seconds between looks at the runs list (one request per interval for all
        watchers of the same connection, workflow and interval).
    :param include_results: put the run's results (``{name: value}``, Secrets as ``""``) in the
        event; costs one details request per reported run (shared by the stream's watchers).
    :param since: on the watcher's first start, also report runs that ended at or after this time
        (a datetime, ISO-8601 text or Unix time, in the server's times: see docs/events.md);
        without it, a first start reports only runs that end after it.
    :param pseven_conn_id: the pSeven connection.

    Event payload: ``{"runs": [run, ...]}``, each run ``{"workflow_id" | "app_id", "run_id", "name",
    "path", "url", "state", "results"}``, plus ``"redelivered": true`` for a run reported again
    after a crash (see docs/events.md); read it with ``airflow_provider_pseven.pseven_runs``. Needs
    Airflow 3.3+.
    """

    def __init__(
        self,
        workflow: str | None = None,
        app: str | None = None,
        states: Sequence[str] = ("FINISHED",),
        poll_interval: float = 30.0,
        include_results: bool = True,
        since: Any = None,
        pseven_conn_id: str = PsevenHook.default_conn_name,
    ) -> None:
        require_event_watchers("RunEventTrigger")
        super().__init__()
        if (workflow is None) == (app is None):
            raise ValueError("RunEventTrigger needs exactly one of workflow= or app=")
        spec = workflow if workflow is not None else app
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(
                f"RunEventTrigger: workflow/app must be a non-empty id, path or name, not {spec!r}"
            )
        chosen = [str(s).upper() for s in ([states] if isinstance(states, str) else states)]
        terminal = sorted(s.value for s in ev.TERMINAL)
        if not chosen or any(s not in terminal for s in chosen):
            raise ValueError(
                f"RunEventTrigger: states must be terminal states among {terminal}, not {states!r}"
            )
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or poll_interval <= 0
        ):
            raise ValueError(
                f"RunEventTrigger: poll_interval must be a positive number of seconds, not {poll_interval!r}"
            )
        moment = ev.parse_time(since)
        if since is not None and moment is None:
            raise ValueError(
                f"RunEventTrigger: since must be a datetime, an ISO-8601 time or a Unix time, not {since!r}"
            )
        self.workflow = workflow.strip() if workflow is not None else None
        self.app = app.strip() if app is not None else None
        self.states = list(dict.fromkeys(chosen))
        self.poll_interval = float(poll_interval)
        self.include_results = bool(include_results)
        self.since = moment.isoformat() if moment is not None else None
        self.pseven_conn_id = pseven_conn_id
        self.kind = RunKind.APP if self.app is not None else RunKind.WORKFLOW
        self.spec: str = self.app or self.workflow or ""
        self.identity = f"{pseven_conn_id}|{self.kind.value}|{self.spec}|{','.join(sorted(self.states))}"
        self._mark: ev.Watermark | None = None
        self._loaded = False
        self._dirty = False
        self._lock_: asyncio.Lock | None = None
        self._store: WatermarkStore | None = None
        self._complained: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "workflow": self.workflow,
                "app": self.app,
                "states": list(self.states),
                "poll_interval": self.poll_interval,
                "include_results": self.include_results,
                "since": self.since,
                "pseven_conn_id": self.pseven_conn_id,
            },
        )

    # --- the shared stream ------------------------------------------------------------------------

    def shared_stream_key(self) -> Hashable | None:
        return ("pseven-runs", self.pseven_conn_id, self.kind.value, self.spec, self.poll_interval)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> Any:
        return acked_producer(RunsStream(kwargs, acked=True))

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        async for snapshot in RunsStream(kwargs, acked=False).snapshots():
            yield snapshot

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """On its own (outside a triggerer's shared streams): its own stream, no stored-event
        confirmation, so a poll's runs count as seen once their events were taken."""
        _, kwargs = self.serialize()
        async for event in self.filter_shared_stream(self.open_shared_stream(kwargs)):
            yield event

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for snapshot in shared_stream:
            events = await self._consider(snapshot)
            for event in events:
                yield event
            if not events:
                continue
            if snapshot.stream.acked:
                snapshot.stream.when_stored(snapshot.seq, self._confirm)
            else:
                await self._confirm(snapshot.seq)

    # --- one watcher's view of a poll --------------------------------------------------------------

    @property
    def _lock(self) -> asyncio.Lock:
        if self._lock_ is None:
            self._lock_ = asyncio.Lock()
        return self._lock_

    def _complain(self, what: str, error: BaseException) -> None:
        message = f"{what}: {type(error).__name__}: {error}"
        if message != self._complained:
            self.log.warning(
                "pSeven run watcher of %s %s %s; trying again at the next poll", self.spec, "-", message
            )
            self._complained = message

    def _store_for_now(self) -> WatermarkStore:
        if self._store is None:
            if self.asset_state_store is None:
                self.log.warning(
                    "pSeven run watcher of %s has no asset state store (not run as an AssetWatcher by "
                    "an Airflow 3.3 triggerer): what it reported is kept in memory only",
                    self.spec,
                )
            self._store = WatermarkStore(self.asset_state_store, store_key(self.identity))
        return self._store

    async def _load(self, snapshot: Snapshot) -> bool:
        """Read the watermark once. A store that does not answer is not an empty store: nothing is
        reported until it is read (never a first start by mistake, which would lose runs)."""
        store = self._store_for_now()
        try:
            stored = await store.read()
        except Exception as error:
            self._complain("cannot read its watermark from the asset state store", error)
            return False
        self._loaded = True
        if stored is None:
            return True
        try:
            mark = ev.Watermark.from_json(stored)
        except ev.WatermarkError as error:
            self.log.error("pSeven run watcher of %s: %s; starting afresh from now", self.spec, error)
            return True
        if mark.identity != self.identity:
            self.log.info("pSeven run watcher of %s watches something new; starting afresh", self.spec)
            return True
        self._mark = mark
        if mark.pending:
            self.log.warning(
                "pSeven run watcher of %s: runs %s were being reported when the triggerer stopped; "
                "their events may or may not have been stored, so they are reported again with "
                "redelivered=true",
                self.spec,
                sorted(mark.pending),
            )
        return True

    async def _first_start(self, snapshot: Snapshot) -> ev.Watermark:
        """The first watermark: runs already ended are not reported, except those ending at or
        after ``since``."""
        mark = ev.baseline(self.identity, snapshot.runs, snapshot.at)
        moment = ev.parse_time(self.since)
        if moment is None:
            return mark
        candidates = [r for r in snapshot.runs if ev.is_terminal(r) and r.state.value in self.states]
        ended = {}
        for run in candidates:
            try:
                ended[run.id] = await snapshot.stream.ended(run)
            except Exception as error:  # cannot tell when it ended: back-filled (see ev.backfill)
                self.log.warning(
                    "pSeven run watcher of %s: end time of run %s unknown (%s)", self.spec, run.id, error
                )
                ended[run.id] = None
        chosen = ev.backfill(candidates, ended, moment)
        mark.seen -= {ev.digest(r.id) for r in chosen}
        self.log.info(
            "pSeven run watcher of %s: back-filling %d run(s) that ended since %s",
            self.spec,
            len(chosen),
            moment,
        )
        return mark

    async def _consider(self, snapshot: Snapshot) -> list[TriggerEvent]:
        async with self._lock:
            if not self._loaded and not await self._load(snapshot):
                return []
            store = self._store_for_now()
            first = self._mark is None
            mark = await self._first_start(snapshot) if first else self._mark
            assert mark is not None
            states = [RunState(s) for s in self.states]
            trial = mark.copy()
            selection = ev.select(trial, snapshot.runs, states, snapshot.seq, snapshot.at)
            results: dict[str, dict[str, Any]] = {}
            deferred: set[str] = set()
            if self.include_results and selection.report:
                finished = [r for r in selection.report if r.state is RunState.FINISHED]
                read = await asyncio.gather(
                    *(snapshot.stream.results(r) for r in finished), return_exceptions=True
                )
                for run, got in zip(finished, read, strict=True):
                    if isinstance(got, BaseException):
                        self._complain(f"cannot read the results of run {run.id}", got)
                        deferred.add(run.id)
                    else:
                        results[run.id] = got
                if deferred:  # reported at a later poll, once its results can be read
                    trial = mark.copy()
                    selection = ev.select(
                        trial, snapshot.runs, states, snapshot.seq, snapshot.at, defer=deferred
                    )
            runs = self._objects(snapshot, selection, results)
            taken = ev.fitting(runs)
            if taken < len(runs):  # the rest in later events, one per look: never cut, never two at once
                self.log.info(
                    "pSeven run watcher of %s: %d runs ended; reporting %d now, the rest at the next poll "
                    "(an event holds at most %d bytes)",
                    self.spec,
                    len(runs),
                    taken,
                    ev.EVENT_BYTES,
                )
                later = {r.id for r in selection.report[taken:]}
                trial = mark.copy()
                selection = ev.select(
                    trial, snapshot.runs, states, snapshot.seq, snapshot.at, defer=deferred | later
                )
                runs = runs[:taken]
            if selection.changed or self._dirty or first:
                try:
                    await store.write(trial.to_json())
                except Exception as error:
                    # Not written, not reported: the same runs are considered again at the next poll.
                    self._complain("cannot write its watermark to the asset state store", error)
                    return []
                self._dirty = False
            self._mark = trial
            self._complained = None
            if first:
                self.log.info(
                    "pSeven run watcher of %s started: reporting runs that end from now on", self.spec
                )
            if not runs:
                return []
            for run in selection.report:
                self.log.info("pSeven run %s of %s ended %s: reporting it", run.id, self.spec, run.state_text)
            return [TriggerEvent(ev.batch_payload(runs))]

    def _objects(
        self, snapshot: Snapshot, selection: ev.Selection, results: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The run objects of the event, in list order."""
        parent_id = snapshot.stream.parent_id or ""
        return [
            ev.payload(
                self.kind,
                parent_id,
                run,
                results.get(run.id, {}) if self.include_results else None,
                redelivered=run.id in selection.redelivered,
            )
            for run in selection.report
        ]

    async def _confirm(self, seq: int) -> None:
        """Airflow stored the events of poll ``seq``: their runs are seen, for good."""
        async with self._lock:
            if self._mark is None or not ev.confirm(self._mark, seq):
                return
            try:
                await self._store_for_now().write(self._mark.to_json())
            except Exception as error:
                # Kept in memory; written with the next change. Until then a restart reports
                # these runs again (redelivered), never loses them.
                self._dirty = True
                self._complain("cannot write its watermark to the asset state store", error)


__all__ = ["RunEventTrigger"]
