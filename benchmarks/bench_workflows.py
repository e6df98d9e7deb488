"""Emulator workflows for benchmarks: ``Bench0`` .. ``Bench9`` sleep ``duration`` s, holding no CPU.

Loaded by the emulator CLI: ``pseven-emulator --workflows benchmarks.bench_workflows``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_pseven.emulator import Param, Result, Workflow
from airflow_provider_pseven.emulator import params as pt

WORKFLOWS = 10


def _sleep_then_report(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    time.sleep(float(params["duration"]))
    return {"finished_at": time.time()}


def register(server: Any) -> None:
    # Thousands of runs sleep at once: give each its own (idle) thread.
    server.state.executor = ThreadPoolExecutor(max_workers=2500, thread_name_prefix="bench-run")
    for index in range(WORKFLOWS):
        server.add_workflow(
            Workflow(
                f"/Users/1/Bench{index}.p7wf",
                _sleep_then_report,
                parameters=[Param("duration", pt.REAL, 1.0)],
                results=[Result("finished_at", pt.REAL)],
            )
        )
