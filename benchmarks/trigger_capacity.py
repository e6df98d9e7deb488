"""Trigger capacity: N run-state triggers in one asyncio loop, as a triggerer runs them.

The emulator runs in another process (``Bench*`` workflows that only sleep). For each variant we
deploy and start N runs over 10 workflows, finishing at random times, then run N triggers until
all fired, and report: CPU seconds per 1,000 polls, CPU share of one core (over the whole run, and
in the steady window, while every trigger still waits), peak RSS, requests per second reaching the
server, and the latency from a run's finish to its TriggerEvent (p50, p99).

Variants, in the same run:
- ``ours``: RunStateTrigger as shipped: one shared pooled client, polls of one workflow answered
  by one runs-list request;
- ``ours, no list``: the same without list coalescing (one details GET per run per interval);
- ``baseline``: the trigger the dbt Cloud provider's way: per poll a connection lookup and a new
  aiohttp session (DbtCloudHook.get_job_details).

Usage: python benchmarks/trigger_capacity.py [--sizes 100,1000,2000] [--interval 5] [--spread 30] [--hold S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Imported before any measurement: module imports are not per-poll costs.
import aiohttp  # noqa: E402
from airflow.providers.common.compat.connection import get_async_connection  # noqa: E402

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, RunKind, RunRef  # noqa: E402
from airflow_provider_pseven.client import waiting as waiting_module  # noqa: E402
from airflow_provider_pseven.client.calls import Base  # noqa: E402
from airflow_provider_pseven.emulator import EmulatorProcess  # noqa: E402
from airflow_provider_pseven.triggers import RunStateTrigger  # noqa: E402


class _Polls:
    count = 0


POLLS = _Polls()


def _count_polls() -> None:
    """Count every state check the waiting loop makes (wrapping its summary read)."""
    original = waiting_module.get_run_summary

    def counted(ref: RunRef, **watch: Any) -> Any:
        POLLS.count += 1
        return (yield from original(ref, **watch))

    waiting_module.get_run_summary = counted  # type: ignore[assignment]


async def _prepare(config: ClientConfig, count: int, spread: float, hold: float) -> list[RunRef]:
    """Deploy and start ``count`` runs over the Bench workflows, each sleeping a random time."""
    async with AsyncPsevenClient(config, coalesce=False, max_connections=20) as client:
        workflows = [w for w in await client.list_workflows() if w.name.startswith("Bench")]
        semaphore = asyncio.Semaphore(20)
        rng = random.Random(count)

        async def one(index: int) -> RunRef:
            async with semaphore:
                workflow = workflows[index % len(workflows)]
                run = await client.deploy_run(
                    RunKind.WORKFLOW, workflow.id, name=f"bench-{index}-{time.time_ns()}"
                )
                ref = RunRef.workflow(workflow.id, run.id)
                await client.wait_for_run(ref, ["CONFIGURATION"], interval=0.2)  # type: ignore[list-item]
                # Every run lasts at least ``hold`` seconds, so all triggers poll together for a
                # while first (the steady window): longer than starting them all takes.
                await client.set_parameters(ref, {"duration": hold + rng.random() * spread})
                return ref

        async def start(ref: RunRef) -> None:
            async with semaphore:
                await client.start_run(ref)

        refs = list(await asyncio.gather(*(one(i) for i in range(count))))
        await asyncio.gather(*(start(ref) for ref in refs))
        return refs


async def _baseline_wait(conn_id: str, api_url: str, ref: RunRef, interval: float) -> float:
    """As DbtCloudHook.get_job_details does it: every poll looks the connection up and opens (and
    closes) a new aiohttp session."""
    url = f"{api_url}{ref.path()}"
    while True:
        POLLS.count += 1
        conn = await get_async_connection(conn_id)
        headers = {"Authorization": f"Token {conn.password}", "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as session,
            session.get(url) as response,
        ):
            response.raise_for_status()
            state = (await response.json())["state"]
        if state in ("FINISHED", "FAILED", "INTERRUPTED"):
            return time.time()
        await asyncio.sleep(interval)


async def _ours_wait(conn_id: str, ref: RunRef, interval: float) -> float:
    trigger = RunStateTrigger(conn_id, ref.kind.value, ref.parent_id, ref.run_id, poll_interval=interval)
    async for event in trigger.run():
        assert event.payload["status"] == "success", event.payload
    return time.time()


async def _sample_cpu(samples: list[tuple[float, float]], interval: float) -> None:
    """The process's CPU time once per interval, so that two samples hold whole ticks of the waits."""
    while True:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        samples.append((time.time(), usage.ru_utime + usage.ru_stime))
        await asyncio.sleep(interval)


class _RssPeak:
    """Peak RSS over a block, from the kernel's high-water mark (reset on entry): no sampling
    thread, whose own CPU (about 5 ms per second at 20 Hz) would be billed to the triggers."""

    def __init__(self) -> None:
        self.peak = 0

    def __enter__(self) -> _RssPeak:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        return self

    def __exit__(self, *exc: object) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                self.peak = int(line.split()[1]) * 1024


async def _measure(
    variant: str, count: int, args: argparse.Namespace, emulator: EmulatorProcess
) -> dict[str, Any]:
    config = ClientConfig(emulator.url, token=emulator.token, api_path=".rest")
    refs = await _prepare(config, count, args.spread, args.hold or 4 * args.interval)
    conn_id = "pseven_bench"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
        {
            "conn_type": "pseven",
            "host": emulator.url,
            "password": emulator.token,
            "extra": {"api_path": ".rest"},
        }
    )
    from airflow_provider_pseven.hooks import PsevenHook

    client = await PsevenHook(conn_id).get_async_client()
    if variant != "ours":  # no runs lists: neither coalesced polls nor watches answered from them
        client.coalescer = client.watches = None
    if client.coalescer is not None:
        client.coalescer.list_requests = client.coalescer.answered_from_lists = 0
    if client.watches is not None:
        client.watches.kept_asleep = 0
    emulator.control("GET", "requests")  # warm
    emulator.control("DELETE", "requests")
    POLLS.count = 0
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.time()
    samples: list[tuple[float, float]] = []  # (time, CPU seconds) once per interval
    sampler = asyncio.get_running_loop().create_task(_sample_cpu(samples, args.interval))
    with _RssPeak() as rss:
        if variant == "baseline":
            api_url = client.core.api_base(Base.PSEVEN)
            waits = [_baseline_wait(conn_id, api_url, ref, args.interval) for ref in refs]
        else:
            waits = [_ours_wait(conn_id, ref, args.interval) for ref in refs]
        fired = await asyncio.gather(*waits)
    sampler.cancel()
    wall = time.time() - started
    # A look that found a run unchanged and kept its wait asleep (client/watches.py) is a poll too.
    POLLS.count += client.watches.kept_asleep if client.watches is not None else 0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    entries = emulator.control("GET", "requests")["entries"]
    requests_seen = len(entries)

    finished = {}
    async with AsyncPsevenClient(config, coalesce=False, max_connections=20) as reader:
        semaphore = asyncio.Semaphore(20)

        async def finished_at(ref: RunRef) -> None:
            async with semaphore:
                run = await reader.get_run(ref)
                finished[ref.run_id] = float(run.result_values()["finished_at"])

        await asyncio.gather(*(finished_at(ref) for ref in refs))
        await asyncio.gather(*(reader.delete_run(ref, wait=False) for ref in refs))
    # A run that finished while the triggers were still being set up can only be seen once they
    # run: its latency counts from the start of the trigger phase.
    # Requests per poll interval once every trigger made its first poll and before any run
    # finished: the steady cost of waiting for all of them, without start-up.
    # Whole intervals only: the polls of one triggerer come in one burst per tick, so a window of
    # 1.4 intervals may hold two bursts or one.
    first_finish = min(finished.values())
    whole = int((first_finish - started - args.interval) // args.interval)
    window_end = started + args.interval * (1 + whole)
    steady = [e for e in entries if started + args.interval <= e["time"] < window_end]
    steady_per_interval = len(steady) / whole if whole >= 1 else float("nan")
    # CPU share of the same window, from the samples inside it: every wait polling.
    inside = [(t, c) for t, c in samples if started + args.interval <= t <= first_finish]
    steady_share = (
        (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        if len(inside) >= 2 and inside[-1][0] - inside[0][0] >= args.interval
        else float("nan")
    )
    latencies = sorted(
        event - max(finished[ref.run_id], started) for ref, event in zip(refs, fired, strict=True)
    )
    return {
        "variant": variant,
        "triggers": count,
        "polls": POLLS.count,
        "cpu_s": cpu,
        "cpu_per_1000_polls": cpu / max(POLLS.count, 1) * 1000,
        "core_share": cpu / wall,
        "peak_rss_mib": rss.peak / 2**20,
        "requests": requests_seen,
        "req_per_s": requests_seen / wall,
        "req_per_interval": requests_seen / (wall / args.interval),
        "steady_req_per_interval": steady_per_interval,
        "steady_intervals": whole,
        "steady_core_share": steady_share,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "wall_s": wall,
    }


async def _main(args: argparse.Namespace) -> list[dict[str, Any]]:
    _count_polls()
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with EmulatorProcess("--workflows", "benchmarks.bench_workflows", env=env) as emulator:
        plan = [("ours", n) for n in args.sizes] + [("ours, no list", n) for n in args.sizes if n == 1000]
        plan += [("baseline", n) for n in args.sizes if n <= 1000]
        plan = [(variant, n) for variant, n in plan if variant in args.variants]
        for variant, count in plan:
            row = await _measure(variant, count, args, emulator)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    import logging

    logging.getLogger("airflow_provider_pseven").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,2000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--interval", default=5.0, type=float)
    parser.add_argument(
        "--spread",
        default=30.0,
        type=float,
        help="runs finish hold to hold + spread s after start",
    )
    parser.add_argument(
        "--hold",
        default=0.0,
        type=float,
        help="the shortest run, s (default 4 intervals); longer than starting all runs takes, for a "
        "steady window at 5,000 and more",
    )
    parser.add_argument(
        "--variants", default="ours;ours, no list;baseline", type=lambda s: [v.strip() for v in s.split(";")]
    )
    args = parser.parse_args()
    rows = asyncio.run(_main(args))
    print(f"\n`{' '.join([Path(sys.executable).name, *sys.argv])}` (poll interval {args.interval:g} s)\n")
    print(
        "| variant | triggers | polls | CPU s / 1,000 polls | CPU, share of one core | peak RSS MiB | "
        "requests/s | requests / interval | steady requests / interval | steady CPU, share of one core | "
        "latency p50 s | latency p99 s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['triggers']} | {r['polls']} | {r['cpu_per_1000_polls']:.2f} | "
            f"{r['core_share']:.1%} | {r['peak_rss_mib']:.0f} | {r['req_per_s']:.1f} | {r['req_per_interval']:.1f} | "
            f"{r['steady_req_per_interval']:.1f} | {r['steady_core_share']:.1%} | "
            f"{r['p50']:.2f} | {r['p99']:.2f} |"
        )


if __name__ == "__main__":
    main()
