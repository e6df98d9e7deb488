"""Run every benchmark of this folder with reduced durations, in under 10 minutes (``make bench``).

Each script prints its own markdown table(s) and the exact command that produced them; this runner
prints them one after the other, with the wall time of each. Scripts are run by name (a missing
one is reported and skipped), each in its own process group, so a script that overruns its share
of the time budget is stopped together with the emulator it started.

    .venv/bin/python benchmarks/run_all.py [--budget 600]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: (script, reduced-duration arguments, longest expected seconds). Full-length runs: see docs/benchmarks.md.
BENCHMARKS: list[tuple[str, list[str], float]] = [
    ("emulator_load.py", ["--clients", "1000", "--rate", "200", "--duration", "10"], 60),
    ("transfers.py", ["--sizes", "64M,1G", "--repeat", "6"], 240),
    ("import_cost.py", ["--repeat", "15"], 150),
    ("trigger_capacity.py", ["--sizes", "100,1000", "--spread", "10"], 300),
    ("poll_cpu.py", ["--sizes", "1000,10000"], 120),
]


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, to the process group this runner created for ``proc``."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=570.0, help="seconds for all of them (max 600)")
    args = parser.parse_args()
    deadline = time.monotonic() + max(30.0, min(args.budget, 600.0))
    print(f"# Benchmarks ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f})", flush=True)
    summary: list[tuple[str, str, float]] = []
    for script, flags, expected in BENCHMARKS:
        path = HERE / script
        if not path.exists():
            summary.append((script, "not present, skipped", 0.0))
            continue
        remaining = deadline - time.monotonic()
        if remaining < 10:
            summary.append((script, "skipped: out of time", 0.0))
            continue
        timeout = min(remaining, expected * 1.5)
        print(f"\n## {script}", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(path), *flags], cwd=ROOT, start_new_session=True)
        try:
            code = proc.wait(timeout)
            status = "ok" if code == 0 else f"exit {code}"
        except subprocess.TimeoutExpired:
            status = f"stopped after {timeout:.0f} s"
        except KeyboardInterrupt:
            stop_group(proc)
            raise
        finally:
            stop_group(proc)  # the script and anything it left behind (it should leave nothing)
        summary.append((script, status, time.monotonic() - started))
    print("\n## Summary\n\n| benchmark | status | wall s |\n|---|---|---|")
    for script, status, wall in summary:
        print(f"| {script} | {status} | {wall:.0f} |")
    return 0 if all(s in ("ok", "not present, skipped") for _, s, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
