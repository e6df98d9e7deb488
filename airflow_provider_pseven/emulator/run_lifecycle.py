"""The run state machine: the guide's, with no shortcut.

deploy -> QUEUED_TO_INITIALIZE -> CONFIGURATION (setup requests only there) -> ``run/`` ->
QUEUED_TO_RUN -> RUNNING -> FINISHED | FAILED, and ``interrupt/`` only from RUNNING ->
INTERRUPTED. Every refusal cites its guide line; the points the guide leaves open follow
``variants`` (variants.py).

Timed transitions that need no work (QUEUED_TO_INITIALIZE -> CONFIGURATION, the end of a delete
window, results appearing after a lag) are computed lazily from deadlines when a run is read, so
polling costs nothing extra. A started run is executed by a worker thread.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from . import params as pt
from .errors import bad_request, not_found
from .records import PortRecord, RunRecord, new_id
from .states import (
    CONFIGURATION,
    DELETABLE,
    FAILED,
    FINISHED,
    INTERRUPTED,
    QUEUED_TO_INITIALIZE,
    QUEUED_TO_RUN,
    RUNNING,
    STOPPED,
)
from .workflows import RunContext, RunInterrupted, Workflow
from .world_state import WorldState


class RunLifecycle(WorldState):
    """Reading runs (with their due transitions), parameters, run commands and messaging."""

    # --- reading ----------------------------------------------------------------------------
    def _refresh(self, run: RunRecord, now: float) -> bool:
        """Apply due timed transitions; False when the run's delete window is over."""
        if run.delete_at is not None and now >= run.delete_at:
            self.runs.pop(run.id, None)
            self._discard_dir(run)
            return False
        if run.state == QUEUED_TO_INITIALIZE and now >= run.ready_at:
            run.state = CONFIGURATION
        return True

    def runs_of(self, kind: str, owner_id: str) -> list[RunRecord]:
        now = time.monotonic()
        with self.lock:
            return [
                r
                for r in list(self.runs.values())
                if r.kind == kind and r.owner_id == owner_id and self._refresh(r, now)
            ]

    def run(self, kind: str, owner_id: str, run_id: str) -> RunRecord:
        with self.lock:
            run = self.runs.get(run_id)
            if run is None or run.kind != kind or run.owner_id != owner_id:
                raise not_found()
            if not self._refresh(run, time.monotonic()):
                raise not_found()
            return run

    # --- parameters -----------------------------------------------------------------------
    def patch_parameters(self, run: RunRecord, items: list[Any]) -> None:
        """Apply ``value.data`` of each item by id; all-or-nothing, values type-checked first.

        guide: "Change the run parameters by sending a PATCH request ... The request body should
        contain run details with new parameter values" (Run parameters); "This is the only state
        which allows changing run parameters" (Workflow information, on CONFIGURATION).
        """
        typed = self.variants.value_style == "typed"
        with self.lock:
            self.require(run, CONFIGURATION)
            by_id = {p.id: p for p in run.params}
            updates: list[tuple[PortRecord, Any]] = []
            for i, item in enumerate(items):
                if not isinstance(item, dict) or "id" not in item:
                    raise bad_request(f"parameters[{i}] must be an object with an id.")
                param = by_id.get(item["id"])
                if param is None:
                    raise bad_request(f"Unknown parameter id {item['id']!r} in parameters[{i}].")
                value = item.get("value")
                if not isinstance(value, dict) or "data" not in value:
                    raise bad_request(f"Parameter {param.name!r}: value must be an object with a data key.")
                if self.variants.patch_metainfo == "required":
                    shown = pt.value_json(param.type, param.data, param.is_set, self.variants)
                    dropped = sorted(set(shown) - set(value))
                    if dropped:
                        raise bad_request(
                            f"Parameter {param.name!r}: value must keep its metainformation keys "
                            f"as read; missing: {', '.join(dropped)}."
                        )
                if typed and "type" in value:
                    problem = pt.check_declared_type(value["type"], value["data"])
                    if problem:
                        raise bad_request(f"Parameter {param.name!r} {problem}.")
                problem = pt.check_value(param.type, value["data"])
                if problem:
                    raise bad_request(f"Parameter {param.name!r} {problem}.")
                updates.append((param, value["data"]))
            if self.variants.partial_patch == "refused":
                sent = {item["id"] for item in items}
                missing = [p.name for p in run.params if p.id not in sent]
                if missing:
                    raise bad_request(
                        "The request body must contain the run details with every parameter; "
                        f"missing: {', '.join(missing)}."
                    )
            if self.variants.patch_omitted == "reset":
                # The body replaces the whole list: what it leaves out goes back to the default.
                sent = {item["id"] for item in items}
                for param, port in zip(run.params, run.workflow.parameters, strict=True):
                    if param.id not in sent:
                        updates.append((param, port.default))
            for param, data in updates:
                param.data = data
                param.is_set = data is not None

    # --- commands -------------------------------------------------------------------------
    def start(self, run: RunRecord) -> None:
        # guide: "Run state should be CONFIGURATION. Upon receiving this request, run state
        # immediately changes to QUEUED_TO_RUN" (Run commands).
        with self.lock:
            self.require(run, CONFIGURATION)
            run.state = QUEUED_TO_RUN
            self._event("start", run_id=run.id, owner_id=run.owner_id)
        self.executor.submit(self._execute, run)

    def interrupt(self, run: RunRecord) -> None:
        # guide: "Run state must be RUNNING, and once the run stops, it changes to INTERRUPTED"
        # (Run commands): not QUEUED_TO_RUN, and the state stays RUNNING until the run stops.
        with self.lock:
            self.require(run, RUNNING)
            self._event("interrupt", run_id=run.id)
            run.interrupt.set()
            run.bus.wake()

    def delete(self, run: RunRecord) -> None:
        # guide: "The run state has to be CONFIGURATION, FINISHED, FAILED, or INTERRUPTED" and
        # "the request to get run details must return 404 Not Found" once done (Deleting runs).
        with self.lock:
            if run.delete_at is not None:
                return
            self.require(run, *DELETABLE)
            run.delete_at = time.monotonic() + self.timing.scaled(self.timing.delete_delay)
            self._event("delete", run_id=run.id)

    def _execute(self, run: RunRecord) -> None:
        """Worker thread: QUEUED_TO_RUN -> RUNNING -> FINISHED | FAILED | INTERRUPTED."""
        if run.interrupt.wait(self.timing.scaled(self.timing.start_delay)):
            return
        with self.lock:
            if run.state != QUEUED_TO_RUN:
                return
            run.state = RUNNING
            run.started = True
            values = {p.name: p.data for p in run.params}
        run.log(f"Run {run.name!r} of {run.workflow.path} started; state RUNNING")
        ctx = RunContext(
            run.dir,
            run.log,
            run.bus,
            interrupt=run.interrupt,
            time_scale=self.timing.time_scale,
            run_name=run.name,
        )
        final, results = FINISHED, None
        try:
            results = run.workflow.function(values, ctx) or {}
            if run.interrupt.is_set():
                final = INTERRUPTED
        except RunInterrupted:
            final = INTERRUPTED
        except Exception as exc:
            final = FAILED
            run.log("Traceback (most recent call last):\n" + "".join(traceback.format_tb(exc.__traceback__)))
            run.log(f"{type(exc).__name__}: {exc}")
            run.log(f"Run failed: {exc}")
        with self.lock:
            if final == FINISHED and results is not None:
                run.results = self._results(run.workflow, results)
                run.results_at = time.monotonic() + self.timing.scaled(self.timing.results_lag)
            run.state = final
        run.log(f"State {final}")

    @staticmethod
    def _results(workflow: Workflow, values: dict[str, Any]) -> list[PortRecord]:
        out: list[PortRecord] = []
        seen: set[str] = set()
        for r in workflow.results:
            name = workflow.result_name(r)
            seen.add(name)
            data = values.get(name)
            out.append(PortRecord(new_id(), name, r.type or pt.infer_type(data), data, dict(r.labels)))
        for name, data in values.items():
            if name not in seen:
                out.append(PortRecord(new_id(), name, pt.infer_type(data), data, {}))
        return out

    # --- messaging ------------------------------------------------------------------------
    # guide: "While a run is in progress, blocks can exchange messages with the REST client"
    # (Messaging); "Once the run starts, its state changes to RUNNING. In this state you can
    # exchange data with blocks in the workflow (see Messaging)" (Run commands).
    def message_push(self, run: RunRecord, message: str, channel: str | None) -> None:
        with self.lock:
            self.require(run, RUNNING)
        run.bus.client_push(message, channel)

    def message_pop(self, run: RunRecord, channel: str | None) -> str | None:
        """A message, or None for "No messages in queue: 204 No Content" (Messaging)."""
        with self.lock:
            if run.state in STOPPED and self.variants.pop_on_ended_run == 204:
                return None
            self.require(run, RUNNING)
        return run.bus.client_pop(channel)
