"""Load test of the pSeven emulator: many concurrent keep-alive clients polling run details.

Starts the emulator CLI as a subprocess on 127.0.0.1, deploys a few runs, then opens N client
connections (raw asyncio streams with HTTP/1.1 keep-alive, so the load generator, which shares
the machine, stays cheap) that each GET a run's details on a fixed schedule, for an aggregate
target rate. Bounded in time (``--duration``) and count (``--clients``). Prints a markdown table.

    .venv/bin/python benchmarks/emulator_load.py --clients 1000 --rate 200 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_pseven.emulator import EmulatorProcess

TOY_ID = "130d943e100e46e0b5da490ac005b70e"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def proc_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length)
    return status, body


async def client(
    host: str,
    port: int,
    paths: list[str],
    token: str,
    interval: float,
    t_end: float,
    stats: Stats,
    gate: asyncio.Semaphore,
) -> None:
    async with gate:  # pace connection set-up
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            stats.error(f"connect: {type(exc).__name__}")
            return
    loop = asyncio.get_running_loop()
    next_at = loop.time() + random.uniform(0, interval)
    path = random.choice(paths)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Token {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    try:
        while True:
            delay = next_at - loop.time()
            if next_at >= t_end:
                break
            if delay > 0:
                await asyncio.sleep(delay)
            started = loop.time()
            try:
                writer.write(request)
                status, body = await asyncio.wait_for(read_response(reader), timeout=10)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                stats.error(type(exc).__name__)
                return
            if status != 200 or not body.startswith(b"{"):
                stats.error(f"HTTP {status}")
            else:
                stats.latencies.append(loop.time() - started)
            next_at += interval
    finally:
        writer.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def load(
    url: str, token: str, paths: list[str], args: argparse.Namespace, pid: int
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stats = Stats()
    interval = args.clients / args.rate
    gate = asyncio.Semaphore(100)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    t_end = t0 + args.duration
    cpu0, wall0 = proc_cpu_seconds(pid), time.monotonic()
    rss_max = proc_rss_mib(pid)

    async def sample_rss() -> None:
        nonlocal rss_max
        while loop.time() < t_end:
            rss_max = max(rss_max, proc_rss_mib(pid))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_rss())
    await asyncio.gather(
        *(client(host, port, paths, token, interval, t_end, stats, gate) for _ in range(args.clients))
    )
    sampler.cancel()
    wall = time.monotonic() - wall0
    cpu = proc_cpu_seconds(pid) - cpu0
    return {
        "requests": len(stats.latencies) + stats.errors,
        "ok": len(stats.latencies),
        "errors": stats.errors,
        "error_kinds": stats.error_kinds,  # type: ignore[dict-item]
        "rate": len(stats.latencies) / args.duration,
        "p50_ms": percentile(stats.latencies, 50) * 1000,
        "p99_ms": percentile(stats.latencies, 99) * 1000,
        "max_ms": max(stats.latencies, default=float("nan")) * 1000,
        "server_cpu_pct": 100 * cpu / wall,
        "server_rss_mib": rss_max,
        "wall_s": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clients", type=int, default=1000, help="concurrent keep-alive connections (max 5000)"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="aggregate target requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (max 300)")
    parser.add_argument("--runs", type=int, default=5, help="runs to deploy and poll")
    args = parser.parse_args()
    args.clients = max(1, min(args.clients, 5000))
    args.duration = max(1.0, min(args.duration, 300.0))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * args.clients + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by the server subprocess

    command = " ".join(["python", "benchmarks/emulator_load.py", *sys.argv[1:]])
    with EmulatorProcess("--time-scale", "1") as emulator:
        headers = {"Authorization": f"Token {emulator.token}"}
        api = emulator.url + "/pseven/.rest/v2/"
        paths = []
        for i in range(args.runs):
            run = requests.post(
                f"{api}workflows/{TOY_ID}/runs/", headers=headers, json={"name": f"load {i}"}, timeout=10
            )
            run.raise_for_status()
            paths.append(urlsplit(run.json()["url"]).path)
        result = asyncio.run(load(emulator.url, emulator.token, paths, args, emulator.pid))
    print(f"\nCommand: `{command}` (emulator subprocess on 127.0.0.1, {os.cpu_count()} CPUs)\n")
    print(
        "| clients | target req/s | achieved req/s | requests | errors | p50 ms | p99 ms | max ms | server CPU | server RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.clients} | {args.rate:.0f} | {result['rate']:.1f} | {result['requests']} | {result['errors']} "
        f"| {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {result['max_ms']:.1f} "
        f"| {result['server_cpu_pct']:.0f}% | {result['server_rss_mib']:.0f} MiB |"
    )
    if result["errors"]:
        print(f"\nerrors: {result['error_kinds']}")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
