"""The emulator's ``Gate`` workflow: a run stays RUNNING until the test opens its gate.

The emulator runs in the test process, so a gate is a ``threading.Event`` the test sets.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from airflow_provider_pseven.emulator import Param, Result, RunContext, Workflow

GATES: defaultdict[str, threading.Event] = defaultdict(threading.Event)


def _gate(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    gate = GATES[str(params["gate"])]
    while not gate.wait(0.2):
        ctx.check_interrupted()
    ctx.log(f"gate {params['gate']} opened")
    return {"gate": str(params["gate"])}


def gate_workflow() -> Workflow:
    return Workflow(
        path="/Users/1/Gate.p7wf",
        function=_gate,
        parameters=[Param("gate", "String", "default")],
        results=[Result("gate", "String")],
    )
