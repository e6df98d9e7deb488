"""Workflows defined in Python: the registration API and the built-in workflows.

A workflow is a list of typed parameters (addressed by block path, so the guide's unique-naming
rule can be exercised), result names and a function ``(params, ctx) -> results`` that the
emulator runs in a worker thread when a run starts.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import params as pt
from .messaging import MessageBus
from .png import padded_png, scatter_png


class RunInterrupted(Exception):
    """Raised inside a workflow function when the client interrupts the run."""


@dataclass
class Param:
    """A workflow input: port path (``"Block/Port"`` or a tuple), type name, default value."""

    path: str | Sequence[str]
    type: str = pt.STRING
    default: Any = None
    labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = pt.normalize_path(self.path)
        if self.type not in pt.TYPES:
            raise ValueError(f"unknown parameter type {self.type!r}; use one of {pt.TYPES}")


@dataclass
class Result:
    """A workflow result port; ``type`` None means inferred from the returned value."""

    path: str | Sequence[str]
    type: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = pt.normalize_path(self.path)


WorkflowFunction = Callable[[dict[str, Any], "RunContext"], "dict[str, Any] | None"]


@dataclass
class Workflow:
    """A workflow in the emulated storage, e.g. ``/Users/1/ToyWorkflow.p7wf``."""

    path: str
    function: WorkflowFunction
    parameters: list[Param] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    id: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or not self.path.endswith(".p7wf"):
            raise ValueError(f"workflow path must be absolute and end with .p7wf: {self.path!r}")
        if not self.name:
            self.name = self.path.rsplit("/", 1)[-1].removesuffix(".p7wf")
        if not self.id:
            self.id = hashlib.md5(self.path.encode()).hexdigest()
        ports: list[tuple[str, ...]] = [tuple(p.path) for p in self.parameters]
        ports += [tuple(r.path) for r in self.results]
        self._names = pt.display_names(ports)

    def param_name(self, p: Param) -> str:
        return self._names[tuple(p.path)]

    def result_name(self, r: Result) -> str:
        return self._names[tuple(r.path)]


class BlockApi:
    """What ``import api`` gives a Python script block: the guide's messaging calls."""

    def __init__(self, bus: MessageBus, ctx: RunContext) -> None:
        self._bus = bus
        self._ctx = ctx

    def message_push(self, message: str, channel: str | None = None) -> None:
        self._bus.block_push(str(message), channel)

    def wait_read(self, channel: str | None = None, timeout: float = 10.0) -> bool:
        """Emulator extra: wait until the client has read this channel's messages (messages can be
        popped only while the run is RUNNING, so a workflow ending on a reply waits for it to be read)."""
        return self._bus.wait_drained(channel, timeout, self._ctx.interrupted)

    def message_pop(self, channel: str | None = None, timeout: float = 0) -> str:
        """Blocks until a client message arrives; ``TimeoutError`` after ``timeout`` s (0: never)."""
        return self._bus.block_pop(channel, timeout, self._ctx.interrupted, RunInterrupted())


class RunContext:
    """Handed to a workflow function: run directory, log, block API, cooperative sleep."""

    def __init__(
        self,
        run_dir: Path,
        log: Callable[[str], None],
        bus: MessageBus,
        *,
        interrupt: threading.Event,
        time_scale: float,
        run_name: str = "",
    ) -> None:
        self.run_dir = run_dir
        self._log = log
        self._interrupt = interrupt
        self.time_scale = time_scale
        self.run_name = run_name
        self.api = BlockApi(bus, self)

    def log(self, message: str) -> None:
        """Append a line to the run log (``.p7.log.txt``)."""
        self._log(message)

    def interrupted(self) -> bool:
        return self._interrupt.is_set()

    def check_interrupted(self) -> None:
        if self._interrupt.is_set():
            raise RunInterrupted()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds * time_scale``, raising ``RunInterrupted`` as soon as interrupted."""
        if self._interrupt.wait(max(0.0, seconds * self.time_scale)):
            raise RunInterrupted()


# ---------------------------------------------------------------------------------------------
# Built-in workflows
# ---------------------------------------------------------------------------------------------

TOY_WORKFLOW_ID = "130d943e100e46e0b5da490ac005b70e"
DISK_DIR = "🏠.Disk Model [0001].p7wd"
# The sizes the guide's ls/ examples show (Listing files).
OPTIMIZER_TABLE_SIZE = 4421
DESIGN_CSV_SIZE = 576
DIAGRAMS_PNG_SIZE = 29706


def _fill(text: str, size: int, pad: str = " ") -> bytes:
    data = text.encode()
    return data + pad.encode() * max(0, size - len(data))


@functools.cache
def _toy_files() -> dict[str, bytes]:
    """The files of a finished ToyWorkflow run that the guide lists, with the guide's sizes.

    guide (Listing files): the run directory holds "Optimizer.p7table" (4421 bytes) and the
    directory "🏠.Disk Model [0001].p7wd" holding "design.csv" (576) and "diagrams.png" (29706);
    (File download) "results.json" at the run directory root. Built once: the content is fixed.
    """
    rng = random.Random(2025)
    rows = [
        (
            i + 1,
            round(rng.uniform(0.02, 0.08), 4),
            round(rng.uniform(0.15, 0.25), 4),
            round(rng.uniform(10, 60), 3),
        )
        for i in range(24)
    ]
    header = "id,r_in,r_out,mass\n"
    csv_text = header
    for row in rows:
        line = ",".join(map(str, row)) + "\n"
        if len(csv_text) + len(line) > DESIGN_CSV_SIZE:
            break
        csv_text += line
    design = _fill(csv_text, DESIGN_CSV_SIZE, "\n")
    table = {
        "format": "p7table (emulated)",
        "columns": ["id", "r_in", "r_out", "mass"],
        "rows": [list(r) for r in rows],
    }
    optimizer = _fill(json.dumps(table) + "\n", OPTIMIZER_TABLE_SIZE)
    best = min(rows, key=lambda r: r[3])
    png = padded_png(scatter_png([(r[2], r[3]) for r in rows], (best[2], best[3])), DIAGRAMS_PNG_SIZE)
    return {
        "Optimizer.p7table": optimizer,
        f"{DISK_DIR}/design.csv": design,
        f"{DISK_DIR}/diagrams.png": png,
    }


def _toy(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    ctx.log(
        f"MyFirstParameter={params['MyFirstParameter']!r} MySecondParameter={params['MySecondParameter']!r}"
    )
    ctx.log("MySecret is " + ("set" if params["MySecret"] is not None else "unset"))
    ctx.sleep(0.4)
    inputs = sorted(p for p in ctx.run_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    line_count = 0
    for path in inputs:
        with path.open("rb") as f:
            line_count += sum(1 for _ in f)
    note = "no_comments" if not inputs else f"read {len(inputs)} input file(s), {line_count} line(s)"
    results = {
        "MyResult": 99,
        "MyAdditionalResult": note,
        "MyFirstParameter": params["MyFirstParameter"],
        "MySecondParameter": params["MySecondParameter"],
        "InputLineCount": line_count,
        "SecretLength": len(params["MySecret"] or ""),
    }
    (ctx.run_dir / "results.json").write_text(json.dumps(results, indent=2))
    for rel, content in _toy_files().items():
        target = ctx.run_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return results


def toy_workflow() -> Workflow:
    """The guide's ToyWorkflow: two parameters echoed as results, a secret, an input-file reader.

    Labels as the guide prints them (Run parameters, Run results); InputLineCount and SecretLength
    are extra results (workflow outputs, not API fields) that show what the run received.
    """
    return Workflow(
        path="/Users/1/ToyWorkflow.p7wf",
        id=TOY_WORKFLOW_ID,
        function=_toy,
        parameters=[
            Param("MyFirstParameter", pt.STRING, "string_value", {"type": "string"}),
            Param("MySecondParameter", pt.REAL, 42, {"type": "integer, real, string"}),
            Param("MySecret", pt.SECRET, None, {"note": "the real value is a secret"}),
        ],
        results=[
            Result("MyResult", pt.INTEGER, {"type": "integer"}),
            Result("MyAdditionalResult", pt.STRING, {"type": "string"}),
            Result("MyFirstParameter", pt.STRING, {"type": "string"}),
            Result("MySecondParameter", pt.REAL, {"type": "integer, real, string"}),
            Result("InputLineCount", pt.INTEGER, {"type": "integer"}),
            Result("SecretLength", pt.INTEGER, {"type": "integer"}),
        ],
    )


def _disk(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Sample a disk design space; minimise mass subject to a stress limit (pure Python)."""
    rng = random.Random(params["Sampler/Seed"])
    n = params["Count"]
    if n < 1:
        raise ValueError("Count must be at least 1")
    r_in0, r_out0 = params["InnerRadius"], params["OuterRadius"]
    thick0, density = params["Thickness"], params["Density"]
    omega, limit = params["Speed"], params["StressLimit"]
    rows = []
    for i in range(n):
        if i % 50 == 0:
            ctx.check_interrupted()
        r_in = r_in0 * rng.uniform(0.5, 1.5)
        r_out = max(r_in * 1.1, r_out0 * rng.uniform(0.7, 1.3))
        thick = thick0 * rng.uniform(0.5, 1.5)
        mass = density * math.pi * (r_out**2 - r_in**2) * thick
        # peak hoop stress of a rotating annulus (Poisson ratio 0.3), MPa
        stress = density * omega**2 * (3.3 * r_out**2 + 0.7 * r_in**2) / 8 / 1e6
        rows.append({"id": i + 1, "r_in": r_in, "r_out": r_out, "thickness": thick, "mass": mass,
                     "stress": stress, "feasible": stress <= limit})  # fmt: skip
    ctx.sleep(0.3)
    out = ctx.run_dir / DISK_DIR
    out.mkdir(parents=True, exist_ok=True)
    with (out / "design.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    feasible = [r for r in rows if r["feasible"]]
    best = min(feasible, key=lambda r: r["mass"]) if feasible else None
    points = [(r["mass"], r["stress"]) for r in rows]
    (out / "diagrams.png").write_bytes(scatter_png(points, (best["mass"], best["stress"]) if best else None))
    ctx.log(f"sampled {n} designs, {len(feasible)} feasible")
    return {
        "BestMass": best["mass"] if best else None,
        "BestDesign": {k: best[k] for k in ("r_in", "r_out", "thickness", "stress")} if best else {},
        "FeasibleCount": len(feasible),
        "Optimizer/Status": "OK" if best else "NO_FEASIBLE_DESIGN",
        "Report/Status": f"{n} samples",
    }


def disk_model() -> Workflow:
    """Design exploration: some parameter names need block or Composite prefixes to be unique."""
    return Workflow(
        path="/Users/1/DiskModel.p7wf",
        function=_disk,
        parameters=[
            Param(("Disk", "Geometry", "InnerRadius"), pt.REAL, 0.05),
            Param(("Disk", "Geometry", "OuterRadius"), pt.REAL, 0.2),
            Param(("Disk", "Geometry", "Thickness"), pt.REAL, 0.01),
            Param(("Disk", "Material", "Density"), pt.REAL, 7800.0),
            Param(("Disk", "Load", "Speed"), pt.REAL, 1000.0),
            Param(("Disk", "Constraint", "StressLimit"), pt.REAL, 150.0),
            Param(("Sampler", "Count"), pt.INTEGER, 200),
            Param(("Sampler", "Seed"), pt.INTEGER, 1),
            Param(("Optimizer", "Options"), pt.DICT, {"technique": "random"}),
            Param(("Optimizer", "Seed"), pt.INTEGER, 7),
            Param(("Composite 1", "Solver", "Tolerance"), pt.REAL, 1e-6),
            Param(("Composite 2", "Solver", "Tolerance"), pt.REAL, 1e-3),
        ],
        results=[
            Result("BestMass", pt.REAL),
            Result("BestDesign", pt.DICT),
            Result("FeasibleCount", pt.INTEGER),
            Result(("Optimizer", "Status"), pt.STRING),
            Result(("Report", "Status"), pt.STRING),
        ],
    )


def _chat(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Wait for a client message on a channel, answer it upper-cased, ``Rounds`` times."""
    channel = params["Channel"] or None
    replies = []
    ctx.api.message_push("ready", channel)
    for i in range(params["Rounds"]):
        message = ctx.api.message_pop(channel, timeout=params["Timeout"])
        ctx.log(f"round {i + 1}: got {message!r}")
        reply = message.upper()
        ctx.api.message_push(reply, channel)
        replies.append(reply)
    ctx.api.wait_read(channel, timeout=params["Timeout"])
    return {"Replies": replies, "Rounds": len(replies)}


def chat() -> Workflow:
    return Workflow(
        path="/Users/1/Chat.p7wf",
        function=_chat,
        parameters=[
            Param("Channel", pt.STRING, "chat"),
            Param("Rounds", pt.INTEGER, 2),
            Param("Timeout", pt.REAL, 30.0),
        ],
        results=[Result("Replies", pt.LIST), Result("Rounds", pt.INTEGER)],
    )


def _failing(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    ctx.log("checking the mesh")
    ctx.sleep(0.1)
    raise RuntimeError(params["Reason"])


def failing() -> Workflow:
    return Workflow(
        path="/Users/1/Failing.p7wf",
        function=_failing,
        parameters=[Param("Reason", pt.STRING, "Solver diverged: negative Jacobian in element 42")],
        results=[Result("Never", pt.STRING)],
    )


def _slow(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Sleep ``duration`` seconds (scaled by time_scale) in small steps, honouring interrupts."""
    duration = float(params["duration"])
    started = time.monotonic()
    steps = max(1, int(duration / 0.5))
    for i in range(steps):
        ctx.sleep(duration / steps)
        ctx.log(f"step {i + 1}/{steps}")
    return {"elapsed": round(time.monotonic() - started, 3)}


def slow() -> Workflow:
    return Workflow(
        path="/Users/1/Slow.p7wf",
        function=_slow,
        parameters=[Param("duration", pt.REAL, 10.0)],
        results=[Result("elapsed", pt.REAL)],
    )


def builtin_workflows() -> list[Workflow]:
    """Fresh definitions of the shipped workflows (ToyWorkflow first, as in the guide's list)."""
    return [toy_workflow(), disk_model(), chat(), failing(), slow()]
