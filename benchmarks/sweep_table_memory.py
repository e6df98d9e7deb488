"""Memory while a sweep streams its parameter table: flat in the table's size (issue 24).

For each format (CSV, JSON array, JSON Lines) and each size, a fresh process writes the table,
then streams it the way RunSweepOperator does (``tables.scan(tables.read_rows(path))``: the task's
check, and what the trigger's pass costs too) and reports the peak of Python allocations
(tracemalloc) and the growth of the process's peak RSS while streaming. Flat means the 100,000-row
figures match the 1,000-row ones, not the table's size.

    .venv/bin/python benchmarks/sweep_table_memory.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, tracemalloc
from pathlib import Path
from airflow_provider_pseven.sweeps import tables
path, n = Path(sys.argv[1]), int(sys.argv[2])
with path.open("w") as f:
    row = lambda i: {"OuterRadius": round(0.12 + (i % 997) * 1e-4, 6), "Speed": 600.0 + i % 800, "Count": 50, "Sampler/Seed": i}
    if path.suffix == ".csv":
        f.write("OuterRadius,Speed,Count,Sampler/Seed\n")
        f.writelines(",".join(str(v) for v in row(i).values()) + "\n" for i in range(n))
    elif path.suffix == ".json":
        f.write("[\n")
        f.write(",\n".join(json.dumps(row(i)) for i in range(n)))
        f.write("\n]\n")
    else:
        f.writelines(json.dumps(row(i)) + "\n" for i in range(n))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
tables.scan(tables.read_rows(path))
seconds = time.perf_counter() - started
tracemalloc.start()
shape = tables.scan(tables.read_rows(path))
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert shape.rows == n
print(json.dumps({"bytes": path.stat().st_size, "peak": peak, "rss_growth_kib": after - before, "seconds": seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"`{' '.join([Path(sys.executable).name, *sys.argv])}`\n")
    print(
        "| format | rows | table size | peak Python allocations while streaming | peak RSS growth | time to stream |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in ("csv", "json", "jsonl"):
            for n in sizes:
                path = Path(tmp) / f"table-{n}.{suffix}"
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path), str(n)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(
                    f"| {suffix} | {n:,} | {r['bytes'] / 2**20:.1f} MiB | {r['peak'] / 1024:.0f} KiB | "
                    f"{r['rss_growth_kib'] / 1024:.1f} MiB | {r['seconds']:.2f} s |"
                )
                path.unlink()


if __name__ == "__main__":
    main()
