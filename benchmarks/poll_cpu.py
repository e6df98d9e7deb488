"""Client CPU per poll: N run-state waits on one async client, with the HTTP stack left out.

trigger_capacity.py measures the whole path against the emulator, and the emulator and the
network take most of a run's time and noise. This one answers the client's requests in process
(``httpx.MockTransport`` serving pre-encoded runs lists), so what it measures is what grows with
the number of waits: the waits' own steps (``RunStateTrigger.waiting_op``, with Airflow imported
as in a triggerer), their sleeps, and the cyclic garbage collector, whose
collections it times by generation with ``gc.callbacks``. Runs of 10 workflows finish 4 to 10 s
after the waits start; waits poll every ``--interval`` seconds.

Usage: python benchmarks/poll_cpu.py [--sizes 1000,10000] [--interval 1] [--root PATH]

``--root`` imports the provider from another checkout (a worktree of an older commit), so two
versions are compared on the same machine in the same minute.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

WORKFLOWS = [f"{i:032x}" for i in range(10)]


def _item(workflow: str, run_id: str, state: str) -> bytes:
    return json.dumps(
        {
            "id": run_id,
            "name": f"bench-{run_id}",
            "path": f"/Users/bench/Bench{workflow[-1]}.p7wf/@Runs/{run_id}",
            "url": f"https://pseven.bench/runs/{run_id}",
            "state": state,
            "workflow": f"/Users/bench/Bench{workflow[-1]}.p7wf",
        }
    ).encode()


class GcTimes:
    """CPU seconds and count of the cyclic GC's collections, per generation."""

    def __init__(self) -> None:
        self.by_generation = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            entry = self.by_generation[info["generation"]]
            entry[0] += 1
            entry[1] += time.process_time() - self._started


async def measure(count: int, interval: float) -> dict[str, Any]:
    import httpx

    from airflow_provider_pseven.client import AsyncPsevenClient, ClientConfig
    from airflow_provider_pseven.client import waiting as waiting_module
    from airflow_provider_pseven.triggers import RunStateTrigger  # and Airflow: a triggerer's heap

    rng = random.Random(count)
    start = time.time() + 0.5
    runs: dict[str, list[str]] = {w: [] for w in WORKFLOWS}
    finish: dict[str, float] = {}
    for index in range(count):
        workflow, run_id = WORKFLOWS[index % len(WORKFLOWS)], f"{index:032x}"
        runs[workflow].append(run_id)
        finish[run_id] = start + 4 + rng.random() * 6
    bodies = {
        run_id: {state: _item(w, run_id, state) for state in ("RUNNING", "FINISHED")}
        for w in WORKFLOWS
        for run_id in runs[w]
    }

    def state(run_id: str, now: float) -> bytes:
        return bodies[run_id]["FINISHED" if now >= finish[run_id] else "RUNNING"]

    def answer(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        at = parts.index("runs")
        now = time.time()
        if len(parts) > at + 1:  # one run's details
            content = state(parts[at + 1], now)
        else:  # the runs list of a workflow
            content = b"[" + b",".join(state(r, now) for r in runs[parts[at - 1]]) + b"]"
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    polls = 0
    original = waiting_module.get_run_summary

    def counted(ref: Any, **watch: Any) -> Any:
        nonlocal polls
        polls += 1
        return (yield from original(ref, **watch))

    waiting_module.get_run_summary = counted  # type: ignore[assignment]
    config = ClientConfig("https://pseven.bench", token="bench", api_path=".rest")
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client = AsyncPsevenClient(config, http=http, phase=0.0)

    async def one(workflow: str, run_id: str) -> str:
        trigger = RunStateTrigger("bench", "workflow", workflow, run_id, poll_interval=interval)
        result = await client.run(trigger.waiting_op())  # what PsevenWaitTrigger.run does
        return str(result.as_event()["status"])

    await asyncio.sleep(max(0.0, start - time.time()))
    gc_times = GcTimes()
    gc.callbacks.append(gc_times)
    cpu_before = time.process_time()
    statuses = await asyncio.gather(*(one(w, r) for w in WORKFLOWS for r in runs[w]))
    cpu = time.process_time() - cpu_before
    gc.callbacks.remove(gc_times)
    waiting_module.get_run_summary = original  # type: ignore[assignment]
    await client.aclose()
    assert set(statuses) == {"success"}, statuses[:3]
    lists = client.coalescer.list_requests if client.coalescer else 0
    # A look a wait made without waking (a watch answered unchanged, kept asleep) is a poll too.
    watches = getattr(client, "watches", None)
    polls += watches.kept_asleep if watches is not None else 0
    gc_cpu = sum(t for _, t in gc_times.by_generation.values())
    return {
        "waits": count,
        "polls": polls,
        "cpu_s": cpu,
        "us_per_poll": cpu / polls * 1e6,
        "gc_share": gc_cpu / cpu,
        "gc": {g: (n, round(t, 3)) for g, (n, t) in gc_times.by_generation.items()},
        "list_requests": lists,
    }


def main() -> None:
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--interval", default=1.0, type=float)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    logging.getLogger("airflow_provider_pseven").setLevel(logging.WARNING)
    rows = []
    for size in args.sizes:
        row = asyncio.run(measure(size, args.interval))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"\n`{' '.join([Path(sys.executable).name, *sys.argv])}` (provider from {args.root})\n")
    print(
        "| waits | polls | client CPU µs / poll | of it, cyclic GC | GC collections (gen 0 / 1 / 2) | list requests |"
    )
    print("|---:|---:|---:|---:|---|---:|")
    for r in rows:
        counts = " / ".join(str(r["gc"][g][0]) for g in (0, 1, 2))
        print(
            f"| {r['waits']:,} | {r['polls']:,} | {r['us_per_poll']:.1f} | {r['gc_share']:.0%} | "
            f"{counts} | {r['list_requests']} |"
        )


if __name__ == "__main__":
    main()
