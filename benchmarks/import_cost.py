"""Import cost of our operators module vs the dbt Cloud provider's, beyond ``import airflow.sdk``.

Each sample is a fresh interpreter that imports ``airflow.sdk`` first (not counted), then times
``import <module>`` with ``time.perf_counter``. The two modules alternate, so background load hits
both alike. Bytecode is cached the way a pip install leaves it: the children write and read
``.pyc`` files under a temporary ``PYTHONPYCACHEPREFIX`` (removed at the end), warmed by one untimed
run per module, even when the shell sets ``PYTHONDONTWRITEBYTECODE``. Our module counts as imported
once every name of its ``__all__`` is resolved (what a DAG's ``from ... import`` does). Reports the median and p90 of the samples, plus ``airflow.sdk`` itself for scale, and
(from one ``python -X importtime`` run) the modules that dominate our import.

    .venv/bin/python benchmarks/import_cost.py --repeat 15

The dbt Cloud provider comes with the ``bench`` extra: ``pip install -c constraints.txt -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = "airflow_provider_pseven.operators"
DBT = "airflow.providers.dbt.cloud.operators.dbt"
TARGET_MS = 15.0  # issue 26: at most 15 ms over airflow.sdk

PROBE = """
import sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
module = __import__(sys.argv[1], fromlist=["__all__"])
for name in getattr(module, "__all__", ()):
    getattr(module, name)
t2 = time.perf_counter()
print(f"{(t1 - t0) * 1000:.3f} {(t2 - t1) * 1000:.3f}")
"""


def child_env(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def python(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter from the repository root, its output captured; fails on a non-zero exit."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
        check=True,
    )


def sample(module: str, env: dict[str, str], timeout: float) -> tuple[float, float]:
    """One fresh interpreter: (ms for airflow.sdk, ms for ``module`` after it)."""
    out = python(["-c", PROBE, module], env, timeout)
    sdk_ms, module_ms = out.stdout.split()[-2:]
    return float(sdk_ms), float(module_ms)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def importtime_top(
    module: str, env: dict[str, str], top: int, timeout: float
) -> list[tuple[float, float, str]]:
    """``-X importtime`` of ``module`` after airflow.sdk: the largest (cumulative ms, self ms, name)."""
    out = python(["-X", "importtime", "-c", f"import airflow.sdk; from {module} import *"], env, timeout)
    lines = out.stderr.splitlines()
    start = max(i for i, line in enumerate(lines) if line.rstrip().endswith("| airflow.sdk"))
    rows = []
    for line in lines[start + 1 :]:
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        try:
            self_us, cumulative_us = int(parts[0].split(":")[1]), int(parts[1])
        except ValueError:
            continue
        rows.append((cumulative_us / 1000, self_us / 1000, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=15, help="fresh interpreters per module (3-100)")
    parser.add_argument("--top", type=int, default=12, help="rows of the -X importtime breakdown")
    args = parser.parse_args()
    args.repeat = max(3, min(args.repeat, 100))
    timeout = 120.0

    modules = [OURS]
    if importlib.util.find_spec("airflow.providers.dbt") is not None:
        modules.append(DBT)
    else:
        print(
            f"(dbt Cloud provider not installed: pip install -c constraints.txt -e '.[bench]'; skipping {DBT})"
        )

    pycache = tempfile.mkdtemp(prefix="pseven-bench-pycache-")
    try:
        env = child_env(pycache)
        for module in modules:  # write the .pyc files and warm the page cache; not counted
            sample(module, env, timeout)
        sdk: list[float] = []
        times: dict[str, list[float]] = {m: [] for m in modules}
        for _ in range(args.repeat):
            for module in modules:
                sdk_ms, module_ms = sample(module, env, timeout)
                sdk.append(sdk_ms)
                times[module].append(module_ms)
        breakdown = importtime_top(OURS, env, args.top, timeout)
    finally:
        shutil.rmtree(pycache, ignore_errors=True)

    load = os.getloadavg()
    command = " ".join(["python", "benchmarks/import_cost.py", *sys.argv[1:]])
    print(
        f"\nCommand: `{command}` ({args.repeat} fresh interpreters per module, alternating; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})\n"
    )
    print("| module (after `import airflow.sdk`) | median ms | p90 ms | min ms | max ms |")
    print("|---|---|---|---|---|")
    for module in modules:
        values = times[module]
        print(
            f"| `{module}` | {statistics.median(values):.1f} | {p90(values):.1f} "
            f"| {min(values):.1f} | {max(values):.1f} |"
        )
    print(
        f"| (`airflow.sdk` itself, for scale) | {statistics.median(sdk):.0f} | {p90(sdk):.0f} "
        f"| {min(sdk):.0f} | {max(sdk):.0f} |"
    )
    ours = statistics.median(times[OURS])
    verdict = f"ours {ours:.1f} ms (target <= {TARGET_MS:.0f} ms: {'met' if ours <= TARGET_MS else 'MISSED'})"
    if DBT in times:
        dbt = statistics.median(times[DBT])
        verdict += f"; dbt Cloud {dbt:.1f} ms (ours < dbt: {'met' if ours < dbt else 'MISSED'})"
    print(f"\nMedians: {verdict}\n")

    print(f"`-X importtime` of `{OURS}` after `airflow.sdk` (one run; the largest cumulative entries):\n")
    print("| module | cumulative ms | self ms |")
    print("|---|---|---|")
    for cumulative, own, name in breakdown:
        print(f"| `{name.strip()}` | {cumulative:.1f} | {own:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
