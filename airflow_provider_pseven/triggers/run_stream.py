"""The shared polling stream of RunEventTrigger: one look at the runs list per interval for every
watcher of one (connection, workflow or app, interval), with each run's results and end time read
once for all of them, and, in ack mode, the callbacks run once Airflow stored a poll's events."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from airflow_provider_pseven.client import AsyncPsevenClient, PsevenNotFoundError, Run, RunKind, RunRef
from airflow_provider_pseven.client import events as ev
from airflow_provider_pseven.hooks.pseven import PsevenHook

log = logging.getLogger("airflow_provider_pseven.triggers.run_event")

#: Re-reads of an empty ``results`` right after FINISHED (DESIGN.md: results can lag the state).
RESULTS_LAG_TIMEOUT = 30.0
_RESULTS_CACHE = 512


class Snapshot:
    """One look at the runs list, fanned out to every watcher of the stream (in-process only)."""

    __slots__ = ("at", "runs", "seq", "stream")

    def __init__(self, seq: int, runs: tuple[Run, ...], at: float, stream: RunsStream) -> None:
        self.seq, self.runs, self.at, self.stream = seq, runs, at, stream


class RunsStream:
    """The polling loop of one (connection, workflow or app, interval), and what its watchers share:
    run results and end times read once per run, and the callbacks run once Airflow stored the
    events of a poll (ack mode)."""

    def __init__(self, kwargs: dict[str, Any], *, acked: bool) -> None:
        self.conn_id = str(kwargs.get("pseven_conn_id") or PsevenHook.default_conn_name)
        self.kind = RunKind.APP if kwargs.get("app") else RunKind.WORKFLOW
        self.spec = str(kwargs.get("app") or kwargs.get("workflow"))
        self.interval = float(kwargs.get("poll_interval") or 30.0)
        self.what = f"{self.kind.value} {self.spec!r}"
        #: True when Airflow confirms stored events (ack mode) and calls :meth:`stored`.
        self.acked = acked
        self.parent_id: str | None = None
        self._client: AsyncPsevenClient | None = None
        self._results: OrderedDict[str, asyncio.Task[dict[str, Any]]] = OrderedDict()
        self._ended: OrderedDict[str, asyncio.Task[datetime | None]] = OrderedDict()
        self._on_stored: dict[int, list[Callable[[int], Awaitable[None]]]] = {}
        self.polls = 0  # runs-list requests that got an answer (benchmarks)

    async def client(self) -> AsyncPsevenClient:
        if self._client is None:
            self._client = await PsevenHook(self.conn_id).get_async_client()
        return self._client

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        """Look at the runs list every interval, forever; errors are logged, never raised."""
        pacer = ev.Pacer(self.interval)
        failing: str | None = None
        while True:
            outcome: ev.Trouble | None = None
            try:
                client = await self.client()
                if self.parent_id is None:
                    self.parent_id = await client.run(ev.resolve_parent(self.kind, self.spec))
                runs = await client.run(ev.poll_runs(self.kind, self.parent_id))
                now = client.core.clock()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                outcome = ev.trouble(error, self.what, self.conn_id)
                if isinstance(error, PsevenNotFoundError):
                    self.parent_id = None  # look the workflow up again: it may have come back
                failing = outcome.message
            else:
                if failing is not None:
                    log.info("pSeven run watcher of %s: the runs list answers again", self.what)
                    failing = None
                self.polls += 1
                yield Snapshot(self.polls, tuple(runs), now, self)
            delay = pacer.after(outcome)
            if outcome is not None and outcome.transient:
                log.warning("pSeven run watcher, %s in %.0f s", outcome.message, delay)
            elif outcome is not None:
                log.error(
                    "pSeven run watcher cannot watch %s: %s. Trying again in %.0f s.",
                    self.what,
                    outcome.message,
                    delay,
                )
            if self._client is not None:
                await self._client.run(ev.pause(delay, aligned=outcome is None))
            else:
                await asyncio.sleep(delay)

    # --- shared per-run reads -------------------------------------------------------------------

    def _cached(self, cache: OrderedDict[str, Any], run_id: str, make: Callable[[], Awaitable[Any]]) -> Any:
        task = cache.get(run_id)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = cache[run_id] = asyncio.ensure_future(make())
        cache.move_to_end(run_id)
        while len(cache) > _RESULTS_CACHE:
            cache.popitem(last=False)
        return task

    async def results(self, run: Run) -> dict[str, Any]:
        """The run's results, Secrets as ``""``; ``{}`` when the run was deleted meanwhile."""
        assert self.parent_id is not None
        ref = RunRef(self.kind, self.parent_id, run.id)

        async def read() -> dict[str, Any]:
            client = await self.client()
            try:
                detailed = await client.get_results(ref, lag_timeout=RESULTS_LAG_TIMEOUT)
            except PsevenNotFoundError:
                log.warning("Run %s of %s was deleted before its results could be read", run.id, self.what)
                return {}
            return detailed.result_values()

        return dict(await asyncio.shield(self._cached(self._results, run.id, read)))

    async def ended(self, run: Run) -> datetime | None:
        assert self.parent_id is not None
        ref = RunRef(self.kind, self.parent_id, run.id)

        async def read() -> datetime | None:
            client = await self.client()
            try:
                return await client.run(ev.run_end_time(ref, run))
            except PsevenNotFoundError:
                return None

        result: datetime | None = await asyncio.shield(self._cached(self._ended, run.id, read))
        return result

    # --- ack mode: Airflow stored the events of a poll --------------------------------------------

    def when_stored(self, seq: int, callback: Callable[[int], Awaitable[None]]) -> None:
        self._on_stored.setdefault(seq, []).append(callback)

    async def stored(self, seq: int, clean: bool) -> None:
        callbacks = self._on_stored.pop(seq, [])
        if not clean:
            # Some watcher's events of this poll were not confirmed (Airflow failed it): keep the
            # runs pending, so a restart reports them again rather than losing them.
            return
        for callback in callbacks:
            try:
                await callback(seq)
            except Exception:  # a callback keeps its own errors; never end the stream for one
                log.exception("pSeven run watcher: confirming poll %d failed", seq)


def acked_producer(stream: RunsStream) -> Any:
    """The ack-mode producer (Airflow 3.3+): Airflow calls ``advance`` with the polls whose trigger
    events it stored in the metadata database."""
    from airflow.triggers.shared_stream import SharedStreamProducer

    class RunsProducer(SharedStreamProducer):
        async def open_stream(self) -> AsyncIterator[tuple[Any, Any]]:
            async for snapshot in stream.snapshots():
                yield snapshot, snapshot.seq

        async def advance(self, batch: Sequence[Any]) -> None:
            for item in batch:
                outcome = item.outcome
                await stream.stored(int(item.broker_payload), outcome.failed == 0 and outcome.rejected == 0)

    return RunsProducer()


__all__ = ["RunsStream", "Snapshot", "acked_producer"]
