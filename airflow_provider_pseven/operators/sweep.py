"""RunSweepOperator: a parameter sweep, many pSeven runs of one workflow, from one task."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client import PsevenError
from airflow_provider_pseven.compat import AirflowException, AirflowFailException
from airflow_provider_pseven.operators.base import PsevenBaseOperator, positive
from airflow_provider_pseven.sweeps import policy, tables
from airflow_provider_pseven.tasks.runs import resolve_parent

if TYPE_CHECKING:
    from airflow_provider_pseven.triggers.sweep import SweepTrigger

#: Failed points named one by one in the XCom summary (all of them are in the table and the log).
SUMMARY_FAILED = 20


class RunSweepOperator(PsevenBaseOperator):
    """Run every parameter set of a table as a pSeven run, at most ``max_active_runs`` at once, in
    one task with one deferral; write one results row per point to ``results_destination``.

    :param workflow: the workflow (id, path such as ``/Users/1/DiskModel.p7wf``, or unique name).
    :param app: or an AppsHub app (id, ``id@N`` or name).
    :param parameter_sets: the points: a list of ``{parameter name or id: value}`` (e.g. an upstream
        task's XCom), or a CSV, JSON (array of objects) or JSON Lines table at a local path or
        object-storage URL, streamed, never held whole. Empty cells and ``null`` keep the workflow's value.
    :param results_destination: a folder (local path or object-storage URL, templated) that receives
        ``results.csv`` (and ``results.parquet`` when pyarrow is installed) and, while the sweep
        runs, its ``_sweep/`` work folder.
    :param max_active_runs: at most this many of the sweep's runs deployed and not ended at once.
    :param retries_per_point: a point whose run ends FAILED or INTERRUPTED is run again as a new
        run, up to this many times.
    :param max_failed_points: how many points may fail, a count or a fraction of the table (e.g.
        ``0.05``), before the sweep stops and the task fails.
    :param objective: a result name; the summary gives the finished row where it is lowest
        (``minimize=True``) or highest.
    :param keep_runs: ``"failed"`` (default: delete finished runs once their row is stored, keep the
        failed ones to look at), ``"all"`` or ``"none"``.
    :param timeout: seconds for the whole sweep; at the deadline every live run is stopped.
    :return: a summary: counts, the table's URL, the failed points, the best row.
    """

    template_fields: Sequence[str] = (
        "pseven_conn_id",
        "workflow",
        "app",
        "parameter_sets",
        "results_destination",
    )
    template_fields_renderers = {"parameter_sets": "json"}
    ui_color = "#cfe8d9"

    def __init__(
        self,
        *,
        parameter_sets: Any,
        results_destination: Any,
        workflow: str | None = None,
        app: str | None = None,
        max_active_runs: int = 50,
        poll_interval: float = 5.0,
        retries_per_point: int = 0,
        max_failed_points: int | float = 0,
        objective: str | None = None,
        minimize: bool = True,
        keep_runs: str = "failed",
        deferrable: bool = True,
        timeout: float | None = None,
        results_lag_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (workflow is None) == (app is None):
            raise ValueError("Give workflow (a workflow's id, path or name) or app, exactly one of them")
        self.workflow = workflow
        self.app = app
        self.parameter_sets = parameter_sets
        self.results_destination = results_destination
        self.max_active_runs = policy.check_concurrency(max_active_runs)
        self.poll_interval = positive("poll_interval", poll_interval, allow_none=False)
        self.retries_per_point = policy.check_retries(retries_per_point)
        self.max_failed_points = policy.check_max_failed(max_failed_points)
        self.objective = objective
        self.minimize = minimize
        self.keep_runs = policy.check_keep_runs(keep_runs)
        self.deferrable = deferrable
        self.sweep_timeout = positive("timeout", timeout)
        self.results_lag_timeout = results_lag_timeout
        self._trigger: SweepTrigger | None = None

    # --- before the sweep: the table, the manifest, the trigger -----------------------------------

    def _work(self) -> tuple[Any, Any]:
        destination = tables.storage_path(self.results_destination)
        return destination, destination / tables.WORK

    def _table(self, work: Any, parent_id: str) -> tuple[str, str]:
        """The table to stream and the sweep's key: the manifest's, when a try already began."""
        given = self.parameter_sets
        is_table = isinstance(given, (str, os.PathLike)) or hasattr(given, "protocol")
        source = str(given) if is_table else "list"
        manifest = tables.read_manifest(work)
        if manifest and manifest.get("parent_id") == parent_id and manifest.get("source") == source:
            self.log.info("Resuming the sweep begun by an earlier try (key %s)", manifest["key"])
            return str(manifest["table"]), str(manifest["key"])
        if is_table:
            table = str(given)
        elif isinstance(given, (list, tuple)):
            table = str(tables.write_input(work, given))
        else:
            raise AirflowFailException(
                "parameter_sets must be a list of {parameter: value} mappings or the path/URL of a CSV, "
                f"JSON or JSON Lines table, not {type(given).__name__}"
            )
        key = secrets.token_hex(4)
        tables.write_manifest(work, {"key": key, "parent_id": parent_id, "source": source, "table": table})
        return table, key

    def execute(self, context: Any) -> Any:
        destination, work = self._work()
        kind, parent_id = resolve_parent(self.hook.client, self.workflow, self.app)
        table, key = self._table(work, parent_id)
        try:
            shape = tables.scan(tables.read_rows(table))
        except tables.TableError as error:
            raise AirflowFailException(f"The parameter table {table} cannot be swept: {error}") from None
        concurrency, note = policy.clamp_concurrency(self.max_active_runs, shape.rows)
        if note:
            self.log.info("%s", note)
        ti = context["ti"]
        prefix = policy.sweep_prefix(ti.dag_id, ti.task_id, key, getattr(ti, "map_index", -1))
        deadline = None if self.sweep_timeout is None else self.hook.client.core.clock() + self.sweep_timeout
        # The trigger (and the async client under it) loads only here: a worker that imports the
        # operators module for another task never imports httpx.
        from airflow_provider_pseven.triggers.sweep import SweepTrigger

        self._trigger = SweepTrigger(
            self.pseven_conn_id,
            kind.value,
            parent_id,
            prefix,
            table,
            str(work),
            shape.rows,
            shape.columns,
            concurrency,
            retries_per_point=self.retries_per_point,
            max_failed_points=self.max_failed_points,
            keep_runs=self.keep_runs,
            poll_interval=self.poll_interval or 5.0,
            deadline=deadline,
            results_lag_timeout=self.results_lag_timeout,
        )
        self.log.info(
            "Sweeping %d points (columns %s), up to %d runs at once; run names start with %r; results go to %s",
            shape.rows,
            ", ".join(shape.columns),
            concurrency,
            prefix,
            destination,
        )
        if self.deferrable:
            self.defer(trigger=self._trigger, method_name="execute_complete")
        return self.execute_complete(context, asyncio.run(_first_event(self._trigger)))

    def on_kill(self) -> None:
        """A killed task that did not defer stops every live run of its sweep, naming each."""
        if self._trigger is None:
            return
        from airflow_provider_pseven.sweeps.points import stop_all

        try:
            stopped = self.hook.client.run(stop_all(self._trigger.sweep))
        except PsevenError as error:
            self.log.warning("Could not stop the sweep's runs: %s", error)
            return
        for line in stopped:
            self.log.info("Stopped run %s", line)

    # --- after the sweep: the table, the summary --------------------------------------------------

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        if not isinstance(event, dict) or "status" not in event:
            raise AirflowException(f"The sweep trigger sent a malformed event: {event!r}")
        status, message = event["status"], str(event.get("message") or "")
        if status == "invalid":
            raise AirflowFailException(message)
        if status == "error":
            raise AirflowException(
                f"The sweep stopped on an error (a retry of this task resumes it): {message}"
            )
        destination, work = self._work()
        summary = self._write_table(destination, work, event.get("points"))
        for row in self._failed_rows(work):
            self.log.error(
                "Point %s failed (%s, run %s, %s attempt(s)): %s",
                row["point"],
                row["state"],
                row["run_id"],
                row["attempts"],
                row["failure_reason"],
            )
        self.log.info("Sweep summary: %s", {k: v for k, v in summary.items() if k != "best"})
        if status == "failed":
            raise AirflowFailException(f"{message}. Results so far: {summary['table']}")
        if status == "timeout":
            raise AirflowException(f"{message}. Results so far: {summary['table']}")
        tables.remove_work(work)
        return summary

    def _failed_rows(self, work: Any) -> Any:
        return (row for row in tables.stored_rows(work) if row["state"] != "FINISHED")

    def _write_table(self, destination: Any, work: Any, points: Any) -> dict[str, Any]:
        columns = tables.Columns()
        finished = failed = 0
        failed_points: list[int] = []
        for row in tables.stored_rows(work):
            columns.add(row)
            if row["state"] == "FINISHED":
                finished += 1
            else:
                failed += 1
                if len(failed_points) < SUMMARY_FAILED:
                    failed_points.append(row["point"])
        destination.mkdir(parents=True, exist_ok=True)
        csv_path = destination / "results.csv"
        tables.write_csv(work, csv_path, columns)
        parquet_path = destination / "results.parquet"
        parquet = _write_parquet(work, parquet_path, columns)
        best = None
        if self.objective:
            best = policy.best_row(tables.stored_rows(work), self.objective, self.minimize)
        return {
            "points": points if isinstance(points, int) else finished + failed,
            "finished": finished,
            "failed": failed,
            "failed_points": sorted(failed_points),
            "table": str(csv_path),
            "parquet": str(parquet_path) if parquet else None,
            "objective": self.objective,
            "best": best,
        }


def _write_parquet(work: Any, target: Any, columns: tables.Columns) -> bool:
    """The same table as Parquet when pyarrow is importable; False (nothing written) otherwise."""
    try:
        from airflow_provider_pseven.sweeps.parquet import write_parquet
    except ImportError:
        return False
    write_parquet(work, target, columns)
    return True


async def _first_event(trigger: SweepTrigger) -> dict[str, Any]:
    """Run the trigger here (``deferrable=False``): the very same sweep loop, in this process."""
    async for event in trigger.run():
        return dict(event.payload)
    raise AirflowException("The sweep ended without an outcome")
