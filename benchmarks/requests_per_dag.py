"""Requests the pSeven server receives per DAG run, with ``api_path`` set and ``auto``, cache on and off.

Runs two example DAGs with ``airflow dags test`` in subprocesses, against an emulator started in
this process, and counts the requests in the emulator's request log per DAG run:

- ``example_pseven_run``: the chained DAG (deploy, parameters, upload, start, deferred sensor,
  results, two downloads, delete);
- ``example_pseven_sweep``: the 20-run mapped sweep (20 deferred deploys, 20 deferred starts,
  20 deletes).

Each DAG is run in these connection set-ups, each run a new ``airflow dags test`` process:

- ``api_path`` set to the emulator's (``.rest``): the reference, no detection at all;
- ``auto``, cache on (the default), starting from an empty cache directory: the first process
  detects once, the second reads the cache file and detects nothing;
- ``auto``, cache off (``PSEVEN_API_PATH_CACHE=off``): every client detects, as before the cache.

``airflow dags test`` runs every task (and every deferral) in one process, so even with the cache
off the figures here understate a real deployment, where each task and each resume after a deferral
is a new process (the cache-off figures count one detection per client the hook made, which is what
such a deployment would pay). A detection is counted by its probe: the emulator serves ``.rest``
only, so each detection is one ``@rest`` probe (answered by the web UI) plus one ``.rest``
``workflows/`` list: "detection requests" is twice the probes, "other requests" the rest, which
varies from run to run by a few state polls (their number depends on timing). The ``.rest`` probe's
list also answers the client's first call when that call is ``workflows/`` (a workflow lookup), so
a detection costs one or two requests more than a set path: compare the totals.

    .venv/bin/python benchmarks/requests_per_dag.py                 # both DAGs, every set-up, 2 runs each
    .venv/bin/python benchmarks/requests_per_dag.py --dags example_pseven_run --runs 1
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
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_pseven.emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).parent / "airflow"
DAGS = ("example_pseven_run", "example_pseven_sweep")
OTHER_BASE = {".rest": "@rest", "@rest": ".rest"}


@dataclass(frozen=True)
class Setup:
    name: str
    api_path: str
    cache: str  # PSEVEN_API_PATH_CACHE

    @property
    def label(self) -> str:
        if self.api_path != "auto":
            return f"`api_path` {self.api_path} (set)"
        return f"`api_path` auto, cache {self.cache}"


@dataclass
class Measured:
    dag_id: str
    setup: Setup
    run: int
    ok: bool
    seconds: float
    requests: int
    detections: int
    by_kind: Counter[str]


def say(text: str = "") -> None:
    print(text, flush=True)


def airflow_env(
    home: Path, output: Path, cache_dir: Path, connection: str, cache: str, poll: float
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "PSEVEN_API_PATH_CACHE"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_PSEVEN_DEFAULT": connection,
            "AIRFLOW_VAR_PSEVEN_MY_SECRET": "bench-secret-not-a-real-one",
            "PSEVEN_DEMO_OUTPUT": str(output),
            "PSEVEN_POLL_INTERVAL": str(poll),
            "PSEVEN_API_PATH_CACHE": cache,
            "PSEVEN_API_PATH_CACHE_DIR": str(cache_dir),
        }
    )
    return env


def run_airflow(args: list[str], env: dict[str, str], log: Path, timeout: float) -> int:
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(AIRFLOW), *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout)
        except BaseException:
            proc.kill()
            proc.wait(10)
            raise


def kind(method: str, path: str, base: str) -> str:
    """``GET runs/{id}/``-style label of a request, ids replaced, for the breakdown."""
    for prefix in (f"/pseven/{base}/v2/", f"/appshub/{base}/v2/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    else:
        return f"{method} (not the API) {path.split('/v2/', 1)[0]}/..."
    parts = ["{id}" if len(part) >= 32 else part for part in path.split("/")]
    return f"{method} {'/'.join(parts)}"


def measure(
    server: EmulatorServer, dag_id: str, setup: Setup, run: int, env: dict[str, str], logs: Path
) -> Measured:
    server.requests.clear()
    log = logs / f"{dag_id}-{setup.name}-{run}.log"
    started = time.monotonic()
    code = run_airflow(["dags", "test", dag_id], env, log, timeout=900)
    seconds = time.monotonic() - started
    entries = server.requests.entries()
    wrong = OTHER_BASE[server.base_path]
    probes = [e for e in entries if f"/{wrong}/" in e.path]
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        say(f"   {dag_id} ({setup.label}, run {run}) FAILED, exit {code}; log {log}:")
        say("\n".join(f"     {line}" for line in tail))
    return Measured(
        dag_id,
        setup,
        run,
        code == 0,
        seconds,
        len(entries),
        len(probes),
        Counter(kind(e.method, e.path, server.base_path) for e in entries),
    )


def report(results: list[Measured], runs: int) -> None:
    for dag_id in dict.fromkeys(r.dag_id for r in results):
        mine = [r for r in results if r.dag_id == dag_id]
        reference = [r.requests for r in mine if r.setup.api_path != "auto" and r.ok]
        base = statistics.mean(reference) if reference else None
        say(f"\n### {dag_id}\n")
        say(
            "| connection | process | DAG run | requests | detection requests | other requests "
            "| vs `api_path` set (mean) | wall s |"
        )
        say("|---|---|---|---|---|---|---|---|")
        for r in mine:
            versus = f"{(r.requests / base - 1) * 100:+.1f} %" if base else "n/a"
            state = "success" if r.ok else "**failed**"
            detection = 2 * r.detections
            say(
                f"| {r.setup.label} | {r.run} of {runs} | {state} | {r.requests} | {detection} "
                f"| {r.requests - detection} | {versus} | {r.seconds:.0f} |"
            )
        if base is not None:
            say(f"\n`api_path` set: mean {base:.1f} requests per DAG run. Detection requests against it:")
            for setup in dict.fromkeys(r.setup for r in mine if r.setup.api_path == "auto"):
                per_run = [2 * r.detections for r in mine if r.setup == setup]
                shares = ", ".join(f"{n} (+{n / base * 100:.1f} %)" for n in per_run)
                say(f"- {setup.label}, process 1 to {len(per_run)}: {shares}")
        first = next((r for r in mine if r.setup.api_path == "auto" and r.setup.cache == "off"), None)
        if first is not None:
            say(f"\nRequests of one cache-off run of {dag_id}, by kind:\n")
            for label, count in sorted(first.by_kind.items(), key=lambda item: (-item[1], item[0])):
                say(f"- {count:3d} {label}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--dags", default=",".join(DAGS), help="comma-separated DAG ids (default: both)")
    parser.add_argument("--runs", type=int, default=2, help="DAG runs (processes) per set-up (default 2)")
    parser.add_argument("--poll", type=float, default=0.2, help="PSEVEN_POLL_INTERVAL, seconds (default 0.2)")
    parser.add_argument("--time-scale", type=float, default=0.3, help="emulator time scale (default 0.3)")
    parser.add_argument(
        "--base-path", default=".rest", choices=sorted(OTHER_BASE), help="the emulator's API path"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args(argv)
    dags = [d.strip() for d in args.dags.split(",") if d.strip()]
    setups = [
        Setup("set", args.base_path, "on"),
        Setup("auto-cache", "auto", "on"),
        Setup("auto-nocache", "auto", "off"),
    ]
    tmp = Path(tempfile.mkdtemp(prefix="pseven-requests-per-dag-"))
    home, logs, output = tmp / "airflow-home", tmp / "logs", tmp / "output"
    logs.mkdir(parents=True)
    results: list[Measured] = []
    started = time.monotonic()
    try:
        with EmulatorServer(time_scale=args.time_scale, base_path=args.base_path) as server:
            say(f"Emulator at {server.url} ({args.base_path}, time scale {args.time_scale}); work dir {tmp}")
            env = airflow_env(home, output, tmp / "unused", "", "off", args.poll)
            if run_airflow(["db", "migrate"], env, logs / "db-migrate.log", timeout=900) != 0:
                say(f"airflow db migrate failed; see {logs / 'db-migrate.log'}")
                return 1
            for dag_id in dags:
                for setup in setups:
                    cache_dir = tmp / f"cache-{dag_id}-{setup.name}"  # empty at the set-up's first run
                    connection = json.dumps(
                        {
                            "conn_type": "pseven",
                            "host": server.url,
                            "password": server.token,
                            "extra": {"api_path": setup.api_path},
                        }
                    )
                    env = airflow_env(home, output, cache_dir, connection, setup.cache, args.poll)
                    for run in range(1, args.runs + 1):
                        measured = measure(server, dag_id, setup, run, env, logs)
                        results.append(measured)
                        say(
                            f"  {dag_id:22} {setup.label:32} run {run}: {measured.requests:4d} requests, "
                            f"{measured.detections} detection(s), {measured.seconds:.0f} s"
                            + ("" if measured.ok else "  FAILED")
                        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, args.runs)
    say(
        f"\nCommand: .venv/bin/python benchmarks/requests_per_dag.py {' '.join(argv or sys.argv[1:])}".rstrip()
    )
    say(f"Total wall time {time.monotonic() - started:.0f} s.")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
