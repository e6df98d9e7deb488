"""The sweep's scheduling loop on the async client: keep up to N runs live, store rows as points end.

Run by :class:`~airflow_provider_pseven.triggers.sweep.SweepTrigger` in the triggerer (one trigger
for the whole sweep) and, for ``deferrable=False``, by the operator in its own event loop: the same
code either way. Its state is on the server (the sweep's runs, found by name) and in the stored row
parts, never only in memory: a restarted triggerer or a retried task picks the sweep up from there.

Table I/O runs in threads (``asyncio.to_thread``): the triggerer's event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from airflow_provider_pseven.client import AsyncPsevenClient, Run
from airflow_provider_pseven.client.calls import Op, clock
from airflow_provider_pseven.client.errors import PsevenError, PsevenLookupError
from airflow_provider_pseven.client.operations import delete_run
from airflow_provider_pseven.client.parameters import match_parameters
from airflow_provider_pseven.client.text import per_run_info
from airflow_provider_pseven.sweeps import tables
from airflow_provider_pseven.sweeps.points import PointEnd, Sweep, run_point, stop_all, sweep_runs
from airflow_provider_pseven.sweeps.policy import Tally, allowed_failures, deletes

#: Rows read from the input table per thread hop.
BATCH = 500
#: Seconds between progress lines in the log.
PROGRESS_EVERY = 30.0


class SweepInvalid(ValueError):
    """The table does not fit the workflow (a column that is no parameter): no retry can help."""


def columns_check(columns: dict[str, int]) -> Callable[[Run], None]:
    """A check of the table's columns against a run's parameters, naming the column and its first row."""

    def check(run: Run) -> None:
        wrong = []
        for column, row in columns.items():
            try:
                match_parameters(run.parameters, [column])
            except PsevenLookupError as error:
                wrong.append(f"column {column!r} (first set in row {row}): {error}")
        if wrong:
            raise SweepInvalid("The parameter table does not fit the workflow: " + "; ".join(wrong))

    return check


def _open(gate: asyncio.Event, _task: object) -> None:
    gate.set()


@dataclass(frozen=True)
class SweepPlan:
    """What one sweep runs, as its trigger was given it: the input ``table``, the ``work`` folder of
    its stored row parts, its number of ``points`` and its ``columns`` (each with the row that first
    sets it), and its policy: runs at once, failed points allowed, which runs to keep."""

    table: str
    work: str
    points: int
    columns: dict[str, int]
    max_active_runs: int
    max_failed_points: int | float
    keep_runs: str


class SweepRunner:
    """One pass of the sweep from whatever is stored and live, to its end or abort."""

    def __init__(
        self,
        client: AsyncPsevenClient,
        sweep: Sweep,
        plan: SweepPlan,
        *,
        reason: Callable[[str], str],
        log: Any,
        flush_every: float = 5.0,
    ) -> None:
        self.client = client
        self.sweep = sweep
        self.plan = plan
        self.work = tables.storage_path(plan.work)
        self.reason = reason
        self.log = log
        self.flush_every = flush_every
        self.tally = Tally(plan.points, allowed_failures(plan.max_failed_points, plan.points))
        self.ended: list[PointEnd] = []  # ended, not stored yet
        self.live: set[asyncio.Task[None]] = set()
        self.validated = False
        self.timed_out = False
        self.error: BaseException | None = None
        self._all_ended = asyncio.Event()

    async def _run(self, op: Op[Any]) -> Any:
        return await self.client.run(op)

    # --- the loop -------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """The sweep's loop. The client's per-run INFO lines (deployed, started, state after N s) are
        left out: at a thousand points they would be five thousand lines and most of the triggerer's
        CPU; the sweep logs its own progress line, every failure and the results table instead."""
        with per_run_info(False):
            return await self._sweep()

    async def _sweep(self) -> dict[str, Any]:
        done = await asyncio.to_thread(self._stored_states)
        for state in done.values():
            self.tally.add(state)
        found = await self._run(sweep_runs(self.sweep))
        self.validated = bool(done) or bool(found)
        await self._tidy(found, done)
        if done or found:
            self.log.info(
                "Resuming the sweep: %d points stored, %d with runs on the server", len(done), len(found)
            )
        flusher = asyncio.create_task(self._flush_loop())
        try:
            await self._launch_all(done, found)
            if self.live:
                await asyncio.wait(self.live)
        except BaseException:
            for task in self.live:
                task.cancel()
            raise
        finally:
            # The flusher stores what ended and stops; never cancelled mid-write, so a part it began
            # is whole before its runs are deleted and before anyone reads the parts.
            self._all_ended.set()
            await asyncio.shield(flusher)
        if self.error is not None:
            raise self.error
        return await self._outcome()

    async def _launch_all(self, done: dict[int, str], found: dict[int, dict[int, Run]]) -> None:
        slots = asyncio.Semaphore(self.plan.max_active_runs)
        rows: Iterator[tuple[int, dict[str, Any]]] = enumerate(tables.read_rows(self.plan.table))
        while True:
            batch = await asyncio.to_thread(lambda: list(islice(rows, BATCH)))
            if not batch:
                return
            for point, values in batch:
                if point in done:
                    continue
                await slots.acquire()
                if not self._stopping and self.sweep.deadline is not None:
                    self.timed_out = (await self._run(clock())) >= self.sweep.deadline
                if self._stopping:
                    slots.release()
                    return
                gate = asyncio.Event()
                check = None if self.validated else self._gated_check(gate)
                task = asyncio.create_task(self._point(point, values, found.pop(point, {}), check, slots))
                self.live.add(task)
                task.add_done_callback(self._finished)
                if check is not None:
                    task.add_done_callback(functools.partial(_open, gate))
                    await gate.wait()  # no second run before the columns are known to fit
                    if isinstance(self.error, SweepInvalid):
                        raise self.error

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.live.discard(task)
        if not task.cancelled() and task.exception() is not None and self.error is None:
            self.error = task.exception()

    @property
    def _stopping(self) -> bool:
        return self.error is not None or self.tally.over_budget or self.timed_out

    def _gated_check(self, gate: asyncio.Event) -> Callable[[Run], None]:
        check = columns_check(self.plan.columns)

        def gated(run: Run) -> None:
            check(run)
            self.validated = True
            self.log.info("The table's columns match the parameters of run %s", run.id)
            gate.set()

        return gated

    async def _point(
        self,
        point: int,
        values: dict[str, Any],
        found: dict[int, Run],
        check: Callable[[Run], None] | None,
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            end = await self._run(run_point(self.sweep, point, values, found, check))
        except PsevenError as error:
            self.log.error("Point %d: %s", point, error)
            if self.error is None:
                self.error = error
            return
        finally:
            slots.release()
        if end.state == "TIMEOUT":
            self.timed_out = True
            return
        if end.state != "FINISHED":
            reason = self.reason(end.log_tail) or f"the run ended {end.state} and its log shows no error"
            end.row["failure_reason"] = reason
            self.log.error(
                "Point %d failed: run %s ended %s after %d attempt(s); its log ends with:\n%s",
                point,
                end.row["run_id"],
                end.state,
                end.row["attempts"],
                reason,
            )
        self.tally.add(end.state)
        self.ended.append(end)
        if self.tally.over_budget and not self._aborting:
            self._aborting = True
            self.log.error(
                "%d points failed, more than the %d allowed (max_failed_points): stopping the sweep",
                self.tally.failed,
                self.tally.allowed_failed,
            )

    _aborting = False

    # --- storing rows and deleting runs ---------------------------------------------------------

    async def _flush_loop(self) -> None:
        since_progress = 0.0
        while not self._all_ended.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_ended.wait(), self.flush_every)
            await self._store()
            since_progress += self.flush_every
            if since_progress >= PROGRESS_EVERY:
                since_progress = 0.0
                self.log.info("Sweep: %s", self.tally.line(len(self.live)))

    async def _store(self) -> None:
        """Write ended points' rows, then delete their runs as ``keep_runs`` says (never before)."""
        ended, self.ended = self.ended, []
        if not ended:
            return
        await asyncio.to_thread(tables.write_part, self.work, [end.row for end in ended])
        doomed = [ref for end in ended for ref, state in end.runs if deletes(self.plan.keep_runs, state)]
        await asyncio.gather(*(self._delete(ref) for ref in doomed))

    async def _delete(self, ref: Any) -> None:
        try:
            await self._run(delete_run(ref, wait=False))
        except PsevenError as error:
            self.log.warning("Could not delete run %s: %s", ref.run_id, error)

    def _stored_states(self) -> dict[int, str]:
        return {row["point"]: row["state"] for row in tables.stored_rows(self.work)}

    async def _tidy(self, found: dict[int, dict[int, Run]], done: dict[int, str]) -> None:
        """Delete ended runs of points already stored, which a crash kept from being deleted."""
        doomed = [
            self.sweep.ref(run.id)
            for point in done
            for run in found.pop(point, {}).values()
            if run.state.is_terminal and deletes(self.plan.keep_runs, run.state_text)
        ]
        await asyncio.gather(*(self._delete(ref) for ref in doomed))

    # --- the end --------------------------------------------------------------------------------

    async def _outcome(self) -> dict[str, Any]:
        status = "success"
        message = f"Sweep done: {self.tally.line(0)}"
        if self.timed_out or self.tally.over_budget:
            stopped = await self._run(stop_all(self.sweep))
            for line in stopped:
                self.log.warning("Stopped run %s", line)
            status = "timeout" if self.timed_out else "failed"
            why = "the sweep timed out" if self.timed_out else "too many points failed"
            message = f"Stopped because {why}: {self.tally.line(0)}; {len(stopped)} live runs stopped"
        self.log.info("%s", message)
        return {
            "status": status,
            "message": message,
            "points": self.plan.points,
            "finished": self.tally.finished,
            "failed": self.tally.failed,
        }
