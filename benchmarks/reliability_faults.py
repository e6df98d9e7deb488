"""Reliability under transient faults: example DAG (a) run N times while 20% of requests fail.

The emulator (in this process, so its world can be inspected) injects a seeded mix of 503s,
429s with ``Retry-After``, dropped connections (before and after the server acted), truncated
bodies and stalls longer than the connection's timeout. Each DAG run is a real
``airflow dags test example_pseven_run`` subprocess. Reported: runs that succeeded, requests and
faults by kind, duplicate deployments, double starts, and the shortest wait after a 429 compared
with its ``Retry-After``.

Usage: python benchmarks/reliability_faults.py [--runs 30] [--fault-rate 0.2]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_pseven.emulator import EmulatorServer  # noqa: E402

TOY_ID = "130d943e100e46e0b5da490ac005b70e"
AIRFLOW = Path(sys.executable).parent / "airflow"


def fault_mix(rate: float, retry_after: int, stall: float) -> dict[str, float]:
    """Split ``rate`` over the fault kinds (503, 429, drop, drop after acting, truncate, stall)."""
    weights = {
        "error_503": 0.25,
        "error_429": 0.25,
        "drop": 0.2,
        "drop_after": 0.1,
        "truncate": 0.1,
        "stall": 0.1,
    }
    mix: dict[str, float] = {f"{kind}_fraction": rate * weight for kind, weight in weights.items()}
    mix.update({"retry_after": retry_after, "stall_seconds": stall})
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=2.0, help="the connection's request timeout (s)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pseven-reliability-"))
    with EmulatorServer(time_scale=0.2) as server:
        connection = json.loads(server.connection_json())
        connection["extra"]["timeout"] = args.timeout
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_PSEVEN_DEFAULT": json.dumps(connection),
            "AIRFLOW_VAR_PSEVEN_MY_SECRET": "reliability-secret",
            "PSEVEN_POLL_INTERVAL": "0.3",
            "PSEVEN_DEMO_OUTPUT": str(work / "output"),
        }
        subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
        # Every run the server creates, by name: the DAG names its run after the DAG run, so a name
        # seen twice is a duplicate deployment.
        names: list[str] = []
        deploy = server.state.deploy

        def recording_deploy(*deploy_args, **deploy_kwargs):  # type: ignore[no-untyped-def]
            run = deploy(*deploy_args, **deploy_kwargs)
            names.append(run.name)
            return run

        server.state.deploy = recording_deploy  # type: ignore[method-assign]
        server.faults.set(**fault_mix(args.fault_rate, args.retry_after, args.timeout + 1.0), seed=2026)
        outcomes = []
        started = time.time()
        for index in range(args.runs):
            run_started = time.time()
            done = subprocess.run(
                [str(AIRFLOW), "dags", "test", "example_pseven_run"],
                check=False,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            ok = done.returncode == 0 and "state=success" in done.stdout + done.stderr
            outcomes.append(ok)
            (work / f"run-{index:02d}.log").write_text(done.stdout + done.stderr)
            print(
                f"run {index + 1}/{args.runs}: {'success' if ok else 'FAILED'} in {time.time() - run_started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        wall = time.time() - started
        server.faults.clear()

        entries = server.requests.entries()
        faults = collections.Counter(entry.fault for entry in entries if entry.fault)
        deployed = len(names)
        duplicates = len(names) - len(set(names))
        starts = collections.Counter(
            data.get("run_id") for _, kind, data in server.state.events if kind == "start"
        )
        double_starts = sum(1 for count in starts.values() if count > 1)
        # The shortest gap between a 429 and the next request for the same path.
        gaps = []
        for position, entry in enumerate(entries):
            if entry.fault == "429":
                later = next(
                    (
                        e
                        for e in entries[position + 1 :]
                        if (e.method, e.path, e.query) == (entry.method, entry.path, entry.query)
                    ),
                    None,
                )
                if later is not None:
                    gaps.append(later.time - entry.time)

    command = " ".join([Path(sys.executable).name, *sys.argv])
    print(f"\n`{command}` (logs in {work})\n")
    print(
        "| DAG runs | succeeded | requests | faults injected | by kind | runs deployed | duplicate deployments "
        "| double starts | shortest wait after a 429 (Retry-After) | wall time |"
    )
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(faults.items()))
    print(
        f"| {args.runs} | {sum(outcomes)} | {len(entries)} | {sum(faults.values())} ({sum(faults.values()) / max(len(entries), 1):.0%}) "
        f"| {kinds} | {deployed} | {duplicates} | {double_starts} | "
        f"{min(gaps) if gaps else float('nan'):.2f} s ({args.retry_after} s) | {wall:.0f} s |"
    )


if __name__ == "__main__":
    main()
