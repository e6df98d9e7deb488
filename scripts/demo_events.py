"""The event-driven part of ``make demo`` (example_pseven_events), used by scripts/demo.py.

``airflow dags test`` cannot run an asset watcher: watchers run in Airflow's triggerer, and their
events are turned into DAG runs by the scheduler. So, without starting a whole Airflow, the demo:

1. runs the watcher itself, in a subprocess with the demo's Airflow environment: the very
   ``RunEventTrigger`` of example_pseven_events.py, polling the emulator as a triggerer would (here
   with its watermark in memory; a triggerer keeps it in the asset state store);
2. starts two runs of the ToyWorkflow straight through the REST API, as an engineer's tool would
   (deploy, wait for CONFIGURATION, run), not through the provider;
3. takes the watcher's two events and runs the event-driven DAG once for each, with
   ``airflow dags test example_pseven_events --conf '{"runs": [<the event's payload>]}'``: the same
   payload the scheduler would hand it as ``triggering_asset_events``.

The real path (triggerer, scheduler, kill -9) is tested in tests/e2e/test_events_e2e.py.

    .venv/bin/python scripts/demo_events.py --watch 2     # the watcher subprocess: prints events
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = "/Users/1/ToyWorkflow.p7wf"
READY = "WATCHING"
EVENT = "EVENT "  # the watcher's stdout also carries Airflow's log lines


async def _watch(count: int) -> None:
    from airflow_provider_pseven.triggers import RunEventTrigger

    poll = float(os.environ.get("PSEVEN_POLL_INTERVAL", "5"))
    trigger = RunEventTrigger(workflow=WORKFLOW, states=["FINISHED"], poll_interval=poll)
    _, kwargs = trigger.serialize()

    async def stream() -> Any:
        first = True
        async for snapshot in RunEventTrigger.open_shared_stream(kwargs):
            yield snapshot
            if first:  # the first look is done: runs ended before it are not reported
                print(READY, flush=True)
                first = False

    seen = 0
    async for event in trigger.filter_shared_stream(stream()):
        print(EVENT + json.dumps(event.payload), flush=True)
        seen += 1
        if seen == count:
            return


def start_run(api_url: str, token: str) -> str:
    """Deploy and start a ToyWorkflow run with the guide's own requests."""
    headers = {"Authorization": f"Token {token}"}
    workflows = requests.get(f"{api_url}workflows/", headers=headers, timeout=30).json()
    wid = next(w["id"] for w in workflows if w["path"] == WORKFLOW)
    runs = f"{api_url}workflows/{wid}/runs/"
    run = requests.post(runs, headers=headers, json={}, timeout=30).json()
    deadline = time.monotonic() + 60
    while requests.get(f"{runs}{run['id']}/", headers=headers, timeout=30).json()["state"] != "CONFIGURATION":
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run['id']} did not reach CONFIGURATION")
        time.sleep(0.1)
    requests.post(f"{runs}{run['id']}/run/", headers=headers, timeout=30).raise_for_status()
    return str(run["id"])


def run(
    env: dict[str, str],
    api_url: str,
    token: str,
    logs: Path,
    airflow: Path,
    run_logged: Callable[[list[str], dict[str, str], Path, float], int],
    say: Callable[[str], None],
    timeout: float = 300.0,
) -> list[tuple[str, Path]]:
    """The steps above; returns the failed DAG runs as (label, log)."""
    watcher_log = logs / "example_pseven_events-watcher.log"
    failed: list[tuple[str, Path]] = []
    with watcher_log.open("w") as stderr:
        watcher = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--watch", "2"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        try:
            assert watcher.stdout is not None
            deadline = time.monotonic() + timeout
            for line in watcher.stdout:
                if line.strip() == READY:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("the watcher did not start")
            say("   the watcher is polling; an engineer starts two runs through the REST API")
            started = [start_run(api_url, token) for _ in range(2)]
            say(f"   started pSeven runs {', '.join(r[:8] for r in started)}")
            payloads = []
            for line in watcher.stdout:
                if line.startswith(EVENT):  # one event per look, carrying every run it found
                    body = json.loads(line[len(EVENT) :])
                    payloads.extend(body.get("runs") or [body])
                if len(payloads) >= len(started) or time.monotonic() > deadline:
                    break
        finally:
            if watcher.poll() is None:
                watcher.kill()
            watcher.wait(10)
    for index, payload in enumerate(payloads, 1):
        say(
            f"   event {index}: run {payload['run_id'][:8]} {payload['state']}, results {payload.get('results')}"
        )
        log_path = logs / f"example_pseven_events-{index}.log"
        conf = json.dumps({"runs": [payload]})
        cmd = [str(airflow), "dags", "test", "example_pseven_events", "--conf", conf]
        if run_logged(cmd, env, log_path, timeout) != 0:
            failed.append((f"example_pseven_events for run {payload['run_id']}", log_path))
            say(f"   the DAG run for event {index} FAILED (log: {log_path.relative_to(REPO)})")
        else:
            say(
                f"   example_pseven_events ran for run {payload['run_id'][:8]} (log: {log_path.relative_to(REPO)})"
            )
    return failed


if __name__ == "__main__":
    if sys.argv[1:2] == ["--watch"]:
        asyncio.run(_watch(int(sys.argv[2])))
    else:
        sys.exit(__doc__)
