"""Uploads from object storage beside uploads of a local file: throughput and peak memory.

The same bytes (a 4 MiB random block repeated) are uploaded three ways, each in a fresh child
process through the operators' own path (``tasks.inputs.resolve_inputs`` then
``PsevenClient.upload``):

- ``local``: a local file;
- ``s3``: an object in S3 (moto's server on loopback, an ``aws`` connection with its
  ``endpoint_url``), read through Airflow's ``ObjectStoragePath`` and the amazon provider's s3fs;
- ``file-object``: the local file as ``ObjectStoragePath("file://...")`` (fsspec's local filesystem).

The target is a server that counts the bytes and throws them away (benchmarks/transfers.py's
DiscardServer), so the clients' own cost shows. Each child reports its peak RSS (``VmHWM``) after
imports and input resolution (the baseline) and after the upload: the difference is what the
transfer itself held. The repetitions are interleaved, in a rotating order.

    .venv/bin/python benchmarks/object_uploads.py --size 1G --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from transfers import MIB, TOY_ID, DiscardServer, label, parse_size, write_file  # noqa: E402

from tests.support.s3_store import S3Store  # noqa: E402

BUCKET = "pseven-bench"
TIMEOUT = 900.0

CHILD = r"""
import json, sys, time
args = json.loads(sys.argv[1])
from airflow_provider_pseven.client import ClientConfig, PsevenClient, RunRef
from airflow_provider_pseven.tasks.inputs import resolve_inputs

def hwm_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

item = args["item"]
if args["mode"] != "local":
    from airflow.sdk import ObjectStoragePath
    item = ObjectStoragePath(item)
source = resolve_inputs([item]).files[0].source
baseline = hwm_kib()
config = ClientConfig(args["host"], token="bench", api_path=".rest")
with PsevenClient(config) as client:
    t0 = time.perf_counter()
    client.upload(RunRef.workflow(args["workflow_id"], "0" * 32), [(source, "up.bin")])
    seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "baseline_kib": baseline, "hwm_kib": hwm_kib(), "bytes": source.size}))
"""


def run_child(payload: dict[str, object], env: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, "-c", CHILD, json.dumps(payload)]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"upload child failed ({payload['mode']}):\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1G", help="bytes to upload (e.g. 64M, 1G; max 4G)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per way (1-10)")
    args = parser.parse_args()
    size = parse_size(args.size)
    if not 0 < size <= 4096 * MIB:
        parser.error("size must be between 1 byte and 4 GiB")
    repeat = max(1, min(args.repeat, 10))

    work = Path(tempfile.mkdtemp(prefix="pseven-bench-object-uploads-"))
    discard = DiscardServer()
    results: dict[str, list[dict[str, float]]] = {}
    try:
        with S3Store(work) as store:
            source = work / "data.bin"
            write_file(source, size)
            store.put(BUCKET, {})
            store.client().upload_file(str(source), BUCKET, "data.bin")
            env = {**os.environ, "AIRFLOW_CONN_BENCH_S3": store.connection_json(), "PYTHONPATH": str(ROOT)}
            items = {
                "local": str(source),
                "s3": f"s3://bench_s3@{BUCKET}/data.bin",
                "file-object": source.as_uri(),
            }
            ways = list(items)
            for rep in range(repeat):
                for way in ways[rep % 3 :] + ways[: rep % 3]:
                    payload = {"mode": way, "item": items[way], "host": discard.url, "workflow_id": TOY_ID}
                    result = run_child(payload, env)
                    if result["bytes"] != size:
                        raise RuntimeError(f"{way}: {result['bytes']} bytes, expected {size}")
                    results.setdefault(way, []).append(result)
    finally:
        discard.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nUpload of {label(size)}, {repeat} run(s) each (median; to a discarding server)\n")
    print("| source | MiB/s | peak RSS MiB | before the upload MiB | held by the transfer MiB |")
    print("|---|---|---|---|---|")
    for way, runs in results.items():
        rate = statistics.median(size / MIB / r["seconds"] for r in runs)
        peak = statistics.median(r["hwm_kib"] / 1024 for r in runs)
        base = statistics.median(r["baseline_kib"] / 1024 for r in runs)
        held = statistics.median((r["hwm_kib"] - r["baseline_kib"]) / 1024 for r in runs)
        print(f"| {way} | {rate:.0f} | {peak:.0f} | {base:.0f} | {held:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
