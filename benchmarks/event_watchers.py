"""Request economy of RunEventTrigger watchers: N watchers over W workflows in one asyncio loop, as
the triggerer runs them (Airflow's own SharedStreamManager, in ack mode), against an emulator in
another process.

Each workflow has runs already ended and runs that keep running, so the watchers are in steady state:
nothing to report, one look at each runs list per interval. Measured over whole intervals after the
first: requests per interval reaching the server (its request log) and the measuring process's CPU
per interval. Then one run of each workflow ends: the requests that costs (one list and one details
request per workflow, whatever the number of watchers), and every watcher's event.

Variants, in the same run:
- ``watchers``: as shipped: the watchers of one workflow share one polling stream;
- ``watchers, unshared``: each watcher polls on its own (``RunEventTrigger.run()``), what a watcher
  without ``shared_stream_key`` would cost;
- ``run-state triggers``: for scale, N RunStateTrigger waits on running runs of the same workflows
  (coalesced into one list request per workflow per interval).

Usage: python benchmarks/event_watchers.py [--watchers 100] [--workflows 10] [--interval 2] [--intervals 10]

``--burst``: instead, 100 runs of 10 workflows ending within one poll, through real Airflow
processes, watched by 10 watchers (benchmarks/event_bursts.py): FINISHED to the DAG run holding each
run, requests per interval, triggerer CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow.triggers.shared_stream import SharedStreamManager  # noqa: E402

from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig, RunKind, RunRef  # noqa: E402
from airflow_provider_pseven.emulator import EmulatorProcess  # noqa: E402
from airflow_provider_pseven.triggers import RunEventTrigger, RunStateTrigger  # noqa: E402

CONN_ID = "pseven_bench"


class MemoryStore:
    """An asset state store accessor in memory (the triggerer's goes through its supervisor)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.writes += 1
        self.data[key] = value


async def _deploy(client: AsyncPsevenClient, workflow_id: str, duration: float, start: bool = True) -> RunRef:
    run = await client.deploy_run(RunKind.WORKFLOW, workflow_id, name=f"bench-{time.time_ns()}")
    ref = RunRef.workflow(workflow_id, run.id)
    await client.wait_for_run(ref, ["CONFIGURATION"], interval=0.1)  # type: ignore[list-item]
    await client.set_parameters(ref, {"duration": duration})
    if start:
        await client.start_run(ref)
    return ref


async def _prepare(config: ClientConfig, workflows: int) -> tuple[list[str], list[RunRef], list[RunRef]]:
    """Per workflow: 5 runs ended, 5 running for an hour, 1 in CONFIGURATION to start later."""
    async with AsyncPsevenClient(config, coalesce=False, max_connections=20) as client:
        ids = [w.id for w in await client.list_workflows() if w.name.startswith("Bench")][:workflows]
        ended = await asyncio.gather(*(_deploy(client, w, 0.0) for w in ids for _ in range(5)))
        running = await asyncio.gather(*(_deploy(client, w, 3600.0) for w in ids for _ in range(5)))
        later = await asyncio.gather(*(_deploy(client, w, 0.0, start=False) for w in ids))
        for ref in ended:
            await client.wait_for_run(ref, ["FINISHED"], interval=0.2)  # type: ignore[list-item]
        return ids, list(running), list(later)


def _requests(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    return list(emulator.control("GET", "requests")["entries"])


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(
    variant: str,
    args: argparse.Namespace,
    emulator: EmulatorProcess,
    ids: list[str],
    running: list[RunRef],
    later: list[RunRef],
) -> dict[str, Any]:
    config = ClientConfig(emulator.url, token=emulator.token, api_path=".rest")
    watchers = [
        RunEventTrigger(
            workflow=ids[i % len(ids)],
            states=["FINISHED"] if i % 2 == 0 else ["FINISHED", "FAILED"],
            poll_interval=args.interval,
            pseven_conn_id=CONN_ID,
        )
        for i in range(args.watchers)
    ]
    stores = [MemoryStore() for _ in watchers]
    for watcher, store in zip(watchers, stores, strict=True):
        watcher.asset_state_store = store
    events: list[dict[str, Any]] = []
    manager = SharedStreamManager(ack_timeout=300)

    async def watch(index: int, watcher: RunEventTrigger) -> None:
        if variant == "watchers":
            stream = watcher.filter_shared_stream(
                manager.subscribe(trigger_id=index, trigger=watcher, key=watcher.shared_stream_key())
            )
        else:
            stream = watcher.run()
        async for event in stream:
            events.append(event.payload)
            if variant == "watchers":
                seq = manager.bind_pending_event(trigger_id=index, key=watcher.shared_stream_key())
                if seq is not None:
                    manager.confirm_persisted([seq])  # as the triggerer does once the event is stored

    async def wait(ref: RunRef) -> None:
        trigger = RunStateTrigger(CONN_ID, "workflow", ref.parent_id, ref.run_id, poll_interval=args.interval)
        async for _ in trigger.run():
            return

    emulator.control("DELETE", "requests")
    if variant == "run-state triggers":
        refs = [running[i % len(running)] for i in range(args.watchers)]
        tasks = [asyncio.ensure_future(wait(ref)) for ref in refs]
    else:
        tasks = [asyncio.ensure_future(watch(i, w)) for i, w in enumerate(watchers)]
    await asyncio.sleep(args.interval * 1.5)  # first looks, baselines
    window_start, cpu_before = time.time(), _cpu()
    await asyncio.sleep(args.interval * args.intervals)
    window_end, cpu_after = time.time(), _cpu()
    steady = [e for e in _requests(emulator) if window_start <= e["time"] < window_end]
    row: dict[str, Any] = {
        "variant": variant,
        "triggers": args.watchers,
        "workflows": len(ids),
        "steady_requests_per_interval": len(steady) / args.intervals,
        "cpu_ms_per_interval": (cpu_after - cpu_before) / args.intervals * 1000,
    }
    if variant != "run-state triggers":
        # One run of each workflow ends: what does reporting it to every watcher cost?
        async with AsyncPsevenClient(config, coalesce=False) as client:
            mark = time.time()
            await asyncio.gather(*(client.start_run(ref) for ref in later))
        deadline = time.time() + 20 * args.interval
        while len(events) < args.watchers and time.time() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(args.interval)
        after = [e for e in _requests(emulator) if e["time"] >= mark and e["method"] == "GET"]
        details = [e for e in after if not e["path"].endswith("/runs/")]
        row["events"] = len(events)
        row["details_requests_for_the_ended_runs"] = len(details)
        row["store_writes"] = sum(s.writes for s in stores)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await manager.stop_all()
    return row


async def _main(args: argparse.Namespace) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = []
    with EmulatorProcess("--workflows", "benchmarks.bench_workflows", env=env) as emulator:
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "pseven",
                "host": emulator.url,
                "password": emulator.token,
                "extra": {"api_path": ".rest"},
            }
        )
        for variant in args.variants:
            config = ClientConfig(emulator.url, token=emulator.token, api_path=".rest")
            ids, running, later = await _prepare(config, args.workflows)
            rows.append(await _measure(variant, args, emulator, ids, running, later))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    import logging

    logging.getLogger("airflow_provider_pseven").setLevel(logging.WARNING)
    logging.getLogger("airflow.task").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", default=100, type=int)
    parser.add_argument("--workflows", default=10, type=int)
    parser.add_argument("--interval", default=2.0, type=float)
    parser.add_argument("--intervals", default=10, type=int, help="whole intervals in the steady window")
    parser.add_argument(
        "--variants",
        default="watchers;watchers, unshared;run-state triggers",
        type=lambda s: [v.strip() for v in s.split(";")],
    )
    parser.add_argument("--burst", action="store_true", help="a burst through real Airflow processes")
    parser.add_argument("--runs", default=100, type=int, help="--burst: runs ending together")
    parser.add_argument("--provider", default=None, help="--burst: run Airflow on this copy of the provider")
    parser.add_argument("--settle", default=30.0, type=float, help="--burst: the measured window, seconds")
    args = parser.parse_args()
    if args.burst:
        from benchmarks import event_bursts

        row = event_bursts.run_burst(args.workflows, args.runs, args.interval, args.provider, args.settle)
        event_bursts.report(row, args.interval)
        return
    rows = asyncio.run(_main(args))
    print(f"\n`{' '.join([Path(sys.executable).name, *sys.argv])}` (poll interval {args.interval:g} s)\n")
    print(
        "| variant | triggers | workflows | steady requests / interval | CPU ms / interval | events when one run per workflow ends | details requests for them | state store writes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['triggers']} | {r['workflows']} | {r['steady_requests_per_interval']:.1f} | "
            f"{r['cpu_ms_per_interval']:.1f} | {r.get('events', '')} | {r.get('details_requests_for_the_ended_runs', '')} | "
            f"{r.get('store_writes', '')} |"
        )


if __name__ == "__main__":
    main()
