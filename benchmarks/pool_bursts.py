"""Bursts of requests through httpx: one httpcore pool of N connections against N one-connection clients.

Why the async client hands out its connections itself (client/lanes.py): each burst is ``--width``
requests at once (the sweep's point bursts, a tick's list requests) to the emulator, at most ``--slots``
in flight (the client's semaphore). Variants, run in turn, ``--rounds`` times:

- ``pool``: one ``httpx.AsyncClient`` with ``Limits(max_connections=N)`` (the client before 2026-12-06);
- ``pool, keep-alive 2``: the same with ``max_keepalive_connections=2``;
- ``pool of 5``: ``max_connections=5``, 5 in flight;
- ``lanes``: N clients of one connection each, the most recently used handed out first.

Per request: this process's CPU (the emulator runs in another), and, counted by wrapping two
methods of httpcore's pool for the run (instrumentation only, the same for every variant), how
often the pool walked its connections, restarted a request handed a connection already taken,
and opened a connection.

Usage: python benchmarks/pool_bursts.py [--bursts 100] [--width 50] [--slots 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from httpcore._async import connection_pool  # noqa: E402

from airflow_provider_pseven.client.lanes import Lanes  # noqa: E402
from airflow_provider_pseven.emulator import EmulatorProcess  # noqa: E402

COUNTS: Counter[str] = Counter()


def _count(cls: Any, name: str, label: str) -> None:
    original = getattr(cls, name)

    def counted(self: Any, *args: Any) -> Any:
        COUNTS[label] += 1
        return original(self, *args)

    setattr(cls, name, counted)


_count(connection_pool.AsyncConnectionPool, "_assign_requests_to_connections", "walks")
_count(connection_pool.AsyncConnectionPool, "create_connection", "opened")
_count(connection_pool.AsyncPoolRequest, "clear_connection", "restarts")

Send = Callable[[], Awaitable[None]]


async def _bursts(send: Send, slots: int, args: argparse.Namespace) -> float:
    gate = asyncio.Semaphore(slots)

    async def one() -> None:
        async with gate:
            await send()

    await asyncio.gather(*(one() for _ in range(2 * slots)))  # warm: every connection open
    COUNTS.clear()
    cpu = time.process_time()
    for _ in range(args.bursts):
        await asyncio.gather(*(one() for _ in range(args.width)))
    return time.process_time() - cpu


async def pool(url: str, headers: dict[str, str], args: argparse.Namespace, size: int, keep: int) -> float:
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=keep)
    async with httpx.AsyncClient(limits=limits, headers=headers) as client:

        async def send() -> None:
            (await client.get(url)).raise_for_status()

        return await _bursts(send, size, args)


async def lanes(url: str, headers: dict[str, str], args: argparse.Namespace, size: int, keep: int) -> float:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = Lanes(lambda: httpx.AsyncClient(limits=limits, headers=headers))

    async def send() -> None:
        async with clients.lane() as client:
            (await client.get(url)).raise_for_status()

    try:
        return await _bursts(send, size, args)
    finally:
        await clients.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--bursts", type=int, default=100, help="bursts per variant (100)")
    parser.add_argument("--width", type=int, default=50, help="requests per burst (50)")
    parser.add_argument("--slots", type=int, default=10, help="connections, requests in flight (10)")
    parser.add_argument("--rounds", type=int, default=2, help="times each variant runs (2)")
    args = parser.parse_args(argv)
    n = args.slots
    variants = [
        (f"pool of {n}", pool, n, n),
        (f"pool of {n}, keep-alive 2", pool, n, 2),
        (f"pool of {n // 2}", pool, n // 2, n // 2),
        (f"{n} lanes", lanes, n, n),
    ]
    command = " ".join(["python benchmarks/pool_bursts.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"`{command}`\n")
    print(
        "| variant | CPU µs / request | pool walks / request | restarts / request | connections opened / request | load (1 min) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with EmulatorProcess() as emulator:
        url = f"{emulator.url}/pseven/.rest/v2/workflows/"
        headers = {"Authorization": f"Token {emulator.token}"}
        for _ in range(args.rounds):
            for name, run, size, keep in variants:
                cpu = asyncio.run(run(url, headers, args, size, keep))
                total = args.bursts * args.width
                print(
                    f"| {name} | {cpu / total * 1e6:.0f} | {COUNTS['walks'] / total:.2f} "
                    f"| {COUNTS['restarts'] / total:.2f} | {COUNTS['opened'] / total:.3f} "
                    f"| {os.getloadavg()[0]:.2f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
