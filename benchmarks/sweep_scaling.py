"""Sweeps at scale: N pSeven runs of one workflow from Airflow, mapped tasks against the sweep operator.

One invocation starts one emulator and one Airflow (api-server, scheduler with LocalExecutor,
dag-processor, triggerer: tests/e2e/cluster.py) and runs, for each size N, side by side on both:

- ``mapped``: ``RunWorkflowOperator.partial(deferrable=True).expand(parameters=...)`` over the N
  points, at most ``--concurrency`` task instances live (``max_active_tis_per_dagrun``);
- ``sweep``: ``RunSweepOperator`` over the same points, ``max_active_runs=--concurrency``.

Each point is one run of ``/Users/1/SweepPoint.p7wf``, which lasts ``--run-seconds`` (1 s; the
emulator's queues take ``--queue-seconds`` each before it), so the ideal wall time is
``ceil(N / concurrency) * run seconds``. Both variants delete each run once its results are read.

Measured per DAG run (benchmarks/sweep_dags/sweep_bench.py):

- wall: the DAG run's start_date to end_date, as Airflow records them, against the ideal;
- Airflow CPU: user + system seconds of the scheduler (with its LocalExecutor workers and every task
  process they ran, reaped or live), the dag-processor and the triggerer, over the DAG run; the
  api-server's (which serves the task processes' Execution API, and this script's status polls)
  is shown apart;
- pSeven requests reaching the emulator (its request log), by kind, and runs deployed, per point;
- peak memory: the summed PSS of the Airflow processes (each shared page counted once, split
  among its sharers: LocalExecutor's workers are forks), sampled twice a second, and the
  triggerer's own.

Airflow 3.3's scheduler can drain the executor's "success" of a task's exit on deferral after the
resumed task is already running, and then fails it (apache/airflow#72716, open; frequent on a
loaded machine). Both variants have retries, which adopt the runs the failed try deployed; the
table counts these failures (each a retry: more process starts, no second deployment).

Usage (the 1,000-point size takes the mapped baseline several minutes; see docs/benchmarks.md)::

    python benchmarks/sweep_scaling.py --sizes 20,200,1000 [--concurrency 50] [--db postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_pseven.emulator import EmulatorServer, Param, Result, RunContext, Timing, Workflow  # noqa: E402
from airflow_provider_pseven.emulator import params as pt  # noqa: E402
from benchmarks.requests_per_dag import kind  # noqa: E402
from tests.cluster.harness import PG_SERVER, pg_connect, process_tree_cpu, process_tree_sum  # noqa: E402
from tests.e2e.cluster import AirflowCluster  # noqa: E402

WORKFLOW = "/Users/1/SweepPoint.p7wf"
DAGS = ROOT / "benchmarks" / "sweep_dags"
VARIANTS = ("mapped", "sweep")
#: The processes the issue bills (LocalExecutor's workers and task processes are the scheduler's).
AIRFLOW_SIDE = ("scheduler", "dag-processor", "triggerer")
#: How the scheduler's log names a task it fails for apache/airflow#72716 (a stale defer-exit success).
STALE_SUCCESS = ("reported that the task instance <TaskInstance: ", "finished with state success, but")


def point_workflow(seconds: float) -> Workflow:
    """One design point: sleeps ``duration`` (interruptible, no CPU) and reports ``y(x)``."""

    def run(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        ctx.sleep(float(params["duration"]))
        return {"y": (float(params["x"]) - 0.3) ** 2}

    return Workflow(
        WORKFLOW,
        run,
        parameters=[Param("x", pt.REAL, 0.0), Param("duration", pt.REAL, seconds)],
        results=[Result("y", pt.REAL)],
    )


def sweep_available() -> bool:
    """Whether this checkout has the sweep operator (the DAG file defines its DAGs only then)."""
    from airflow_provider_pseven import operators

    return hasattr(operators, "RunSweepOperator")


def _pss(process: Any) -> float:
    return float(process.memory_full_info().pss)


class MemoryPeak:
    """The peak of the summed PSS of the Airflow process trees, sampled in a thread of this
    process (so its CPU is not billed to Airflow), and the triggerer's own peak."""

    def __init__(self, pids: dict[str, int], period: float = 0.5) -> None:
        self.pids, self.period = pids, period
        self.total = self.triggerer = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-peak", daemon=True)

    def _sample(self) -> None:
        while True:
            sizes = {name: process_tree_sum(pid, _pss) for name, pid in self.pids.items()}
            self.total = max(self.total, sum(sizes.values()))
            self.triggerer = max(self.triggerer, sizes.get("triggerer", 0))
            if self._stop.wait(self.period):
                return

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def metadata_db(db: str, home: Path) -> Iterator[str]:
    """The metadata database's URL: a PostgreSQL database of its own (dropped at the end), or
    SQLite in the Airflow home."""
    if db == "sqlite":
        yield f"sqlite:///{home}/airflow.db"
        return
    name = f"pseven_sweep_bench_{secrets.token_hex(4)}"
    with contextlib.closing(pg_connect("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with contextlib.closing(pg_connect("postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cpu(airflow: AirflowCluster) -> dict[str, float]:
    return {name: process_tree_cpu(process.pid) for name, process in airflow.processes.items()}


def _failed_tis(airflow: AirflowCluster, dag_id: str, run_id: str) -> int:
    path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances"
    return int(airflow.api("GET", path, params={"state": "failed", "limit": 1})["total_entries"])


def _ended(airflow: AirflowCluster, dag_id: str, run_id: str) -> str | None:
    """The DAG run's final state, or None while it runs (or while a loaded api-server is slow)."""
    try:
        state = airflow.run_state(dag_id, run_id)
    except requests.RequestException:
        return None
    return state if state in ("success", "failed") else None


def _stale_successes(airflow: AirflowCluster, dag_id: str) -> int:
    """How many of the DAG's task instances the scheduler failed for apache/airflow#72716."""
    named, what = f"{STALE_SUCCESS[0]}{dag_id}.", STALE_SUCCESS[1]
    return sum(1 for line in airflow.log("scheduler").splitlines() if named in line and what in line)


def _seconds(value: Any) -> float:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def measure(
    airflow: AirflowCluster, emulator: EmulatorServer, variant: str, size: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Run one DAG run of ``variant`` over ``size`` points; its figures, per point where it says so."""
    dag_id = f"sweep_bench_{variant}_{size}"
    airflow.wait_for_dag(dag_id)
    workflow = emulator.world.workflow_by_path(WORKFLOW)
    assert workflow is not None
    deploys = emulator.world.deploy_count(workflow.id)
    emulator.requests.clear()
    races_before = _stale_successes(airflow, dag_id)
    before = _cpu(airflow)
    with MemoryPeak({name: p.pid for name, p in airflow.processes.items()}) as memory:
        run_id = airflow.trigger(dag_id)
        timeout = args.timeout or 300 + 3 * size
        state = airflow.wait(lambda: _ended(airflow, dag_id, run_id), timeout, f"DAG run {dag_id} ending")
    after = _cpu(airflow)
    dag_run = airflow.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")
    cpu = {name: after[name] - before[name] for name in after}
    entries = emulator.requests.entries()
    by_kind = Counter(kind(e.method, e.path, emulator.base_path) for e in entries)
    airflow_cpu = sum(cpu[name] for name in AIRFLOW_SIDE)
    wall = _seconds(dag_run["end_date"]) - _seconds(dag_run["start_date"])
    ideal = math.ceil(size / args.concurrency) * args.run_seconds
    return {
        "variant": variant,
        "points": size,
        "concurrency": args.concurrency,
        "state": state,
        "wall_s": wall,
        "ideal_s": ideal,
        "airflow_cpu_s": airflow_cpu,
        "cpu_ms_per_point": airflow_cpu / size * 1000,
        "cpu_s": cpu,
        "api_server_ms_per_point": cpu.get("api-server", 0.0) / size * 1000,
        "requests": len(entries),
        "requests_per_point": len(entries) / size,
        "requests_by_kind": dict(by_kind.most_common()),
        "deploys_per_point": (emulator.world.deploy_count(workflow.id) - deploys) / size,
        "failed_tis": _failed_tis(airflow, dag_id, run_id),
        "stale_success_races": _stale_successes(airflow, dag_id) - races_before,
        "peak_pss_mib": memory.total / 2**20,
        "triggerer_peak_pss_mib": memory.triggerer / 2**20,
        "load_1min": os.getloadavg()[0],
    }


def warm_up(airflow: AirflowCluster) -> None:
    """One run through every process (task, deferral, resume) before anything is measured."""
    run_id = airflow.trigger("sweep_bench_warmup")
    state = airflow.wait(lambda: _ended(airflow, "sweep_bench_warmup", run_id), 600, "the warm-up run")
    if state != "success":
        raise RuntimeError(f"the warm-up DAG run ended {state}:\n{airflow.log('scheduler')[-3000:]}")


def idle_cpu(airflow: AirflowCluster, seconds: float) -> dict[str, float]:
    """Each component's CPU ms per second with no DAG running: the floor under every figure."""
    if seconds <= 0:
        return {}
    before = _cpu(airflow)
    time.sleep(seconds)
    after = _cpu(airflow)
    return {name: (after[name] - before[name]) / seconds * 1000 for name in after}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the emulator and Airflow once; run every (size, variant); stop both."""
    variants = [v for v in args.variants if v != "sweep" or sweep_available()]
    home = Path(tempfile.mkdtemp(prefix="pseven-sweep-bench-"))
    timing = Timing(init_delay=args.queue_seconds, start_delay=args.queue_seconds, delete_delay=0.1)
    rows: list[dict[str, Any]] = []
    plan = [
        (variant, size)
        for size in args.sizes
        for variant in variants
        if variant != "mapped" or args.mapped_sizes is None or size in args.mapped_sizes
    ]
    try:
        with (
            EmulatorServer(
                timing=timing,
                workflows=[point_workflow(args.run_seconds)],
                max_workers=2 * args.concurrency + 16,
            ) as emulator,
            metadata_db(args.db, home) as database,
        ):
            env = {
                "AIRFLOW_CONN_PSEVEN_DEFAULT": emulator.connection_json(),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
                "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
                "AIRFLOW__CORE__MAX_MAP_LENGTH": str(max(1024, *args.sizes)),
                # The DAG file does not change: parse it once, so its parsing is no per-run cost.
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
                "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
                "PSEVEN_SWEEP_BENCH_PLAN": " ".join(
                    f"{v}={','.join(str(n) for w, n in plan if w == v)}" for v in variants
                ),
                "PSEVEN_SWEEP_BENCH_CONCURRENCY": str(args.concurrency),
                "PSEVEN_SWEEP_BENCH_POLL": str(args.poll),
                "PSEVEN_SWEEP_BENCH_RESULTS": str(home / "results"),
            }
            airflow = AirflowCluster(home, DAGS, env)
            began = time.monotonic()
            airflow.start()
            try:
                for variant, size in plan:
                    airflow.wait_for_dag(f"sweep_bench_{variant}_{size}")
                if args.warm_up:
                    warm_up(airflow)
                print(f"Airflow ready after {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
                idle = idle_cpu(airflow, args.idle_seconds)
                for variant, size in plan:
                    rows.append(measure(airflow, emulator, variant, size, args))
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            finally:
                airflow.stop()
    finally:
        if args.keep:
            print(f"Airflow home kept: {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    skipped = [] if "sweep" in variants or "sweep" not in args.variants else ["sweep"]
    return {"rows": rows, "idle_ms_per_s": idle, "skipped": skipped, "cores": os.cpu_count()}


def goals(row: dict[str, Any]) -> str:
    """Which of the issue's goals a sweep row meets (they are set for 1,000 points)."""
    met = {
        "wall": row["wall_s"] <= 1.25 * row["ideal_s"] + 30,
        "cpu": row["cpu_ms_per_point"] <= 20,
        "requests": row["requests_per_point"] <= 6,
    }
    return ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in met.items())


def table(result: dict[str, Any], command: str) -> str:
    """The markdown the benchmark prints: figures, the mapped/sweep ratios, the requests by kind."""
    rows = result["rows"]
    lines = [
        f"`{command}` ({result['cores']} cores)",
        "",
        "| variant | points | concurrency | DAG run | wall s | ideal s | wall / ideal | Airflow CPU s "
        "| CPU ms / point | api-server CPU ms / point | pSeven requests / point | deploys / point "
        "| peak PSS MiB (sum) | triggerer peak PSS MiB | goals (sweep) | load (1 min) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        state = r["state"]
        if r["failed_tis"]:
            state += f", {r['failed_tis']} tasks failed"
        if r["stale_success_races"]:
            state += f", {r['stale_success_races']} retries after airflow#72716"
        lines.append(
            f"| {r['variant']} | {r['points']} | {r['concurrency']} | {state} | {r['wall_s']:.1f} "
            f"| {r['ideal_s']:.0f} | {r['wall_s'] / r['ideal_s']:.2f} | {r['airflow_cpu_s']:.1f} "
            f"| {r['cpu_ms_per_point']:.1f} | {r['api_server_ms_per_point']:.1f} "
            f"| {r['requests_per_point']:.2f} | {r['deploys_per_point']:.2f} | {r['peak_pss_mib']:.0f} "
            f"| {r['triggerer_peak_pss_mib']:.0f} | {goals(r) if r['variant'] == 'sweep' else ''} "
            f"| {r['load_1min']:.2f} |"
        )
    pairs = [
        (m, s)
        for m in rows
        for s in rows
        if m["variant"] == "mapped" and s["variant"] == "sweep" and m["points"] == s["points"]
    ]
    if pairs:
        lines += [
            "",
            "Mapped baseline / sweep, same points:",
            "",
            "| points | wall | Airflow CPU | pSeven requests | peak PSS |",
            "|---:|---:|---:|---:|---:|",
        ]
        for m, s in pairs:
            ratios = [
                m[key] / s[key] if s[key] else math.inf
                for key in ("wall_s", "airflow_cpu_s", "requests", "peak_pss_mib")
            ]
            lines.append(f"| {m['points']} | " + " | ".join(f"{x:.1f} x" for x in ratios) + " |")
    if idle := result["idle_ms_per_s"]:
        lines += ["", "Idle CPU, ms per second: " + ", ".join(f"{k} {v:.0f}" for k, v in idle.items())]
    for variant in result["skipped"]:
        lines.append(f"\n{variant}: skipped, RunSweepOperator is not importable in this checkout")
    for r in rows:
        if r is max((x for x in rows if x["variant"] == r["variant"]), key=lambda x: x["points"]):
            per_kind = ", ".join(f"{k} {n / r['points']:.2f}" for k, n in r["requests_by_kind"].items())
            by_process = ", ".join(f"{k} {v / r['points'] * 1000:.1f}" for k, v in r["cpu_s"].items())
            lines += [
                "",
                f"{r['variant']}, {r['points']} points: requests per point by kind: {per_kind}; "
                f"CPU ms per point by process: {by_process}",
            ]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ints = lambda text: [int(x) for x in text.split(",")]  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=ints, default=[20, 200, 1000], help="points per sweep (20,200,1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="live runs at most (50)")
    parser.add_argument("--variants", type=lambda t: t.split(","), default=list(VARIANTS))
    parser.add_argument("--mapped-sizes", type=ints, help="sizes the mapped baseline runs (all)")
    parser.add_argument("--run-seconds", type=float, default=1.0, help="how long each run runs (1)")
    parser.add_argument("--queue-seconds", type=float, default=0.1, help="each emulator queue (0.1)")
    parser.add_argument("--poll", type=float, default=1.0, help="both variants' poll_interval (1)")
    parser.add_argument("--parallelism", type=int, default=8, help="LocalExecutor's task slots (8)")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres", help="metadata DB")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle CPU window, 0 for none (10)")
    parser.add_argument("--timeout", type=float, default=0.0, help="per DAG run (300 + 3 s per point)")
    parser.add_argument(
        "--no-warm-up", dest="warm_up", action="store_false", help="measure from a cold start (CI)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the Airflow home (logs)")
    args = parser.parse_args(argv)
    unknown = set(args.variants) - set(VARIANTS)
    if unknown or args.concurrency < 1 or min(args.sizes) < 1:
        parser.error(f"variants are {VARIANTS}; concurrency and sizes must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    command = " ".join(["python benchmarks/sweep_scaling.py", *(argv if argv is not None else sys.argv[1:])])
    print(table(result, command), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if all(r["state"] == "success" for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
