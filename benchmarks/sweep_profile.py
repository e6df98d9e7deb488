"""The sweep's loop alone: CPU per point of ``SweepRunner`` in one process, and where it goes.

``benchmarks/sweep_scaling.py`` measures the sweep through real Airflow processes, where the
triggerer is most of the cost but shares its CPU figure with its own idle loop and Airflow's log
forwarding. This runs the same loop (``SweepRunner`` on ``AsyncPsevenClient``, as
``SweepTrigger.run`` builds them) in this process against the emulator in another one, so its CPU is
the loop's and the client's only, and ``--profile`` says by package where it goes (cProfile's own
overhead inflates the totals: compare shares, and CPU figures only between runs without it).

The default is the client as shipped (``--connections``: its ``max_connections``); ``--pool`` and
``--keepalive`` send instead through one ``httpx.AsyncClient`` with those limits (httpcore's pool),
as the client did before 2026-12-06, to weigh one against the other in the same minute.

Usage: python benchmarks/sweep_profile.py [--points 300] [--concurrency 50] [--poll 0.5]
       [--repeat 2] [--connections N | --pool N [--keepalive K]] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Imported before any measurement: module imports are not per-point costs.
import httpx  # noqa: E402

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig  # noqa: E402
from airflow_provider_pseven.client.aio import _ssl_verify  # noqa: E402
from airflow_provider_pseven.emulator import EmulatorProcess  # noqa: E402
from airflow_provider_pseven.sweeps import tables  # noqa: E402
from airflow_provider_pseven.sweeps.runner import SweepRunner  # noqa: E402
from airflow_provider_pseven.triggers.sweep import SweepTrigger  # noqa: E402

WORKFLOW = "/Users/1/SweepPoint.p7wf"
#: Where a profiled function's time is billed, by the first matching part of its file's path.
PACKAGES = (
    ("httpcore", "/httpcore/"),
    ("httpx", "/httpx/"),
    ("anyio", "/anyio/"),
    ("h11", "/h11/"),
    ("tenacity", "/tenacity/"),
    ("client (ours)", "/airflow_provider_pseven/client/"),
    ("sweeps (ours)", "/airflow_provider_pseven/sweeps/"),
    ("asyncio", "/asyncio/"),
    ("logging", "/logging/"),
    ("json", "/json/"),
    ("ssl/socket/select", "ssl.py"),
)


def register(server: Any) -> None:
    """The emulator's workflow (``--workflows benchmarks.sweep_profile``): sweep_scaling.py's."""
    from benchmarks.sweep_scaling import point_workflow

    server.add_workflow(point_workflow(float(os.environ.get("PSEVEN_SWEEP_PROFILE_RUN_SECONDS", "1"))))


class _Quiet:
    """The trigger's logger without its INFO lines: logging's cost in the triggerer is Airflow's
    forwarding, which sweep_scaling.py measures; here it would only be a console's. Warnings and
    errors (none in a clean sweep) still show."""

    def info(self, *args: Any) -> None: ...

    def warning(self, message: str, *args: Any) -> None:
        print(message % args, file=sys.stderr)

    error = warning


def client(config: ClientConfig, args: argparse.Namespace) -> AsyncPsevenClient:
    """The client as the hook builds it (``--connections``: with that many), or on one httpx pool
    of ``--pool`` connections (``--keepalive`` of them kept), as it was before 2026-12-06."""
    if args.pool is None and args.keepalive is None:
        return AsyncPsevenClient(config, max_connections=args.connections)
    pool = args.pool or 10
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=args.keepalive or pool)
    http = httpx.AsyncClient(
        verify=_ssl_verify(config.verify), limits=limits, timeout=httpx.Timeout(config.timeout)
    )
    return AsyncPsevenClient(config, http=http, max_connections=pool)


async def sweep_once(emulator: EmulatorProcess, args: argparse.Namespace, index: int) -> dict[str, Any]:
    """One sweep of ``args.points`` points: its CPU, wall time and requests."""
    config = ClientConfig(emulator.url, token=emulator.token, api_path=".rest")
    work = Path(tempfile.mkdtemp(prefix="pseven-sweep-profile-"))
    table = str(tables.write_input(work, [{"x": round(i / args.points, 6)} for i in range(args.points)]))
    async with client(config, args) as shared:
        parent = next(w for w in await shared.list_workflows() if w.path == WORKFLOW)
        trigger = SweepTrigger(
            "unused",
            "workflow",
            parent.id,
            f"profile{index}-",
            table,
            str(work),
            args.points,
            {"x": 0},
            args.concurrency,
            keep_runs="failed",
            poll_interval=args.poll,
        )
        runner = SweepRunner(
            shared,
            trigger.sweep,
            table=table,
            work=str(work),
            points=args.points,
            columns={"x": 0},
            max_active_runs=args.concurrency,
            max_failed_points=0,
            keep_runs="failed",
            reason=lambda tail: tail,
            log=_Quiet(),
        )
        emulator.control("DELETE", "requests")
        profile = cProfile.Profile(time.process_time) if args.profile else None
        began, cpu = time.monotonic(), time.process_time()
        if profile is not None:
            profile.enable()
        outcome = await runner.run()
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.monotonic() - began
    entries = emulator.control("GET", "requests")["entries"]
    assert outcome["status"] == "success", outcome
    tables.remove_work(work)
    kinds = Counter(f"{e['method']} {'list' if e['path'].endswith('/runs/') else 'other'}" for e in entries)
    return {
        "cpu_ms_per_point": cpu / args.points * 1000,
        "wall_s": wall,
        "requests_per_point": len(entries) / args.points,
        "by_kind": dict(kinds),
        "profile": profile,
    }


def by_package(profile: cProfile.Profile) -> list[tuple[str, float]]:
    """The profile's own time (tottime) by package, largest first."""
    stats = pstats.Stats(profile)
    totals: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        owner = next((name for name, part in PACKAGES if part in filename), "other")
        if filename == "~":
            owner = "builtins (C)"
        totals[owner] += tottime
    return totals.most_common()


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    env = {"PSEVEN_SWEEP_PROFILE_RUN_SECONDS": str(args.run_seconds), "PYTHONPATH": str(ROOT)}
    with EmulatorProcess("--workflows", "benchmarks.sweep_profile", env=env) as emulator:
        seconds = {"init_delay": args.queue_seconds, "start_delay": args.queue_seconds, "delete_delay": 0.1}
        emulator.control("PUT", "timing", seconds)
        return [await sweep_once(emulator, args, index) for index in range(args.repeat)]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--points", type=int, default=300, help="points per sweep (300)")
    parser.add_argument("--concurrency", type=int, default=50, help="max_active_runs (50)")
    parser.add_argument("--poll", type=float, default=0.5, help="poll_interval (0.5)")
    parser.add_argument("--run-seconds", type=float, default=1.0, help="each run's length (1)")
    parser.add_argument("--queue-seconds", type=float, default=0.1, help="each emulator queue (0.1)")
    parser.add_argument("--repeat", type=int, default=2, help="sweeps, one after the other (2)")
    parser.add_argument("--connections", type=int, default=10, help="the client's max_connections (10)")
    parser.add_argument("--pool", type=int, help="one httpx pool of this many connections instead")
    parser.add_argument("--keepalive", type=int, help="that pool's max_keepalive_connections (--pool)")
    parser.add_argument("--profile", action="store_true", help="cProfile the sweeps, by package")
    parser.add_argument("--top", type=int, default=25, help="functions shown with --profile (25)")
    parser.add_argument("--save", type=Path, help="with --profile: write the merged stats here (pstats)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    rows = asyncio.run(main_async(args))
    command = " ".join(["python benchmarks/sweep_profile.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"`{command}` (load average {os.getloadavg()[0]:.2f})\n")
    print("| sweep | CPU ms / point | wall s | pSeven requests / point | by kind |")
    print("|---:|---:|---:|---:|---|")
    for index, row in enumerate(rows, 1):
        print(
            f"| {index} | {row['cpu_ms_per_point']:.2f} | {row['wall_s']:.1f} "
            f"| {row['requests_per_point']:.2f} | {json.dumps(row['by_kind'])} |"
        )
    profiles = [row["profile"] for row in rows if row["profile"] is not None]
    if profiles:
        total = pstats.Stats(profiles[0])
        for extra in profiles[1:]:
            total.add(extra)
        merged = by_package(profiles[0]) if len(profiles) == 1 else None
        shares = merged or _merged_shares(profiles)
        whole = sum(seconds for _name, seconds in shares) or 1.0
        print("\nOwn time by package (cProfile, all sweeps):\n")
        for name, seconds in shares:
            print(f"- {name}: {seconds / whole:.0%}")
        print()
        total.sort_stats("tottime").print_stats(args.top)
        if args.save:
            total.dump_stats(args.save)
    return 0


def _merged_shares(profiles: list[cProfile.Profile]) -> list[tuple[str, float]]:
    totals: Counter[str] = Counter()
    for profile in profiles:
        for name, seconds in by_package(profile):
            totals[name] += seconds
    return totals.most_common()


if __name__ == "__main__":
    sys.exit(main())
