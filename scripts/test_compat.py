"""``make test-compat``: the suites, the example DAGs and a secret sweep on each supported Airflow.

    python3 scripts/test_compat.py 3.1.0 3.1.8 3.2.2

For each version, in ``.venv-compat-<version>/`` (made by the Makefile from
``constraints/airflow-<version>.txt``):

1. ``pytest tests/unit tests/reliability tests/integration tests/compat`` (the integration tests
   under one emulator variant set, ``PSEVEN_IT_VARIANTS``, default ``strictest``: the variants test
   the client against the emulator, which no Airflow version changes);
2. ``scripts/compat_check.py``: the four example DAGs under ``airflow dags test`` against the
   emulator (``PSEVEN_COMPAT_DAGS`` names fewer, ``none`` skips the step), then a sweep of that
   run's output, task logs, written files and metadata database for the token and the Secret.

``PSEVEN_COMPAT_PYTEST_ARGS`` adds pytest arguments (e.g. ``--deselect ...``), as ``.ci/run`` does
to stay within CI's time. ``PSEVEN_COMPAT_SKIP_AIRFLOW_FREE=1`` (also ``.ci/run``, after ``make
test``) leaves out the suites that import no Airflow (:data:`AIRFLOW_FREE_SUITES`) on a version that
pins every library they use as ``constraints.txt`` does: there they would repeat ``make test``'s run
exactly. Where a pin differs they run, and the log says which pin.

Logs go to ``.venv-compat-<version>/logs/``. Prints a Markdown table (the one in
docs/compatibility.md) and exits non-zero if anything failed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITES = ["tests/unit", "tests/reliability", "tests/integration", "tests/compat"]
#: Suites that import no Airflow: the client and the emulator, with the libraries below.
AIRFLOW_FREE_SUITES = ["tests/unit/client", "tests/reliability"]
CLIENT_LIBRARIES = (
    "anyio",
    "certifi",
    "charset-normalizer",
    "h11",
    "httpcore",
    "httpx",
    "hypothesis",
    "idna",
    "pytest",
    "requests",
    "requests-mock",
    "sniffio",
    "tenacity",
    "urllib3",
)
SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|skipped|error|errors|xfailed|deselected)\b.*?)\s*=*$")


def say(text: str) -> None:
    print(text, flush=True)


def run(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[int, float, str]:
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return code, time.monotonic() - started, log.read_text(errors="replace")


def pytest_summary(output: str) -> str:
    for line in reversed(output.splitlines()):
        match = SUMMARY.match(line.strip())
        if match:
            return re.sub(r" in [\d.]+s.*$", "", match.group(1))
    return "no summary line"


def pins(constraints: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file, by lower-case name."""
    found = {}
    for line in constraints.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            found[name.strip().lower()] = version.strip()
    return found


def client_pins_differing(version_constraints: Path, main_constraints: Path) -> list[str]:
    """The client libraries pinned otherwise for this version than for ``make test``."""
    ours, theirs = pins(main_constraints), pins(version_constraints)
    return [
        f"{name} {ours.get(name)} / {theirs.get(name)}"
        for name in CLIENT_LIBRARIES
        if ours.get(name) != theirs.get(name)
    ]


def suites_for(version: str) -> list[str]:
    """pytest's arguments naming what to run on ``version``."""
    if os.environ.get("PSEVEN_COMPAT_SKIP_AIRFLOW_FREE") != "1":
        return SUITES
    differing = client_pins_differing(
        REPO / "constraints" / f"airflow-{version}.txt", REPO / "constraints.txt"
    )
    if differing:
        say(f"   Airflow-free suites run: pinned otherwise than for make test: {', '.join(differing)}")
        return SUITES
    say(f"   left out: {' '.join(AIRFLOW_FREE_SUITES)} (no Airflow, same library pins as make test's run)")
    kept = [suite for suite in SUITES if suite not in AIRFLOW_FREE_SUITES]
    return kept + [f"--ignore={suite}" for suite in AIRFLOW_FREE_SUITES]


def check_version(version: str) -> dict[str, object]:
    venv = REPO / f".venv-compat-{version}"
    python = venv / "bin" / "python"
    logs = venv / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PSEVEN_IT_VARIANTS", "strictest")
    # The tree this script is in is the one under test, also from a copy such as `git archive`.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    suites = suites_for(version)
    say(f"== Airflow {version}: pytest {' '.join(suites)} (log: {logs / 'pytest.log'})")
    extra = shlex.split(os.environ.get("PSEVEN_COMPAT_PYTEST_ARGS", ""))
    code, seconds, output = run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *suites, *extra],
        logs / "pytest.log",
        env,
    )
    failed = [
        line.split()[1] for line in output.splitlines() if line.startswith(("FAILED tests/", "ERROR tests/"))
    ]
    result: dict[str, object] = {
        "version": version,
        "pytest": pytest_summary(output),
        "pytest_ok": code == 0,
        "pytest_seconds": round(seconds),
        "pytest_failed": failed,
    }
    say(f"   {result['pytest']} in {seconds:.0f} s")
    for test in failed:
        say(f"   {test}")
    dags = os.environ.get("PSEVEN_COMPAT_DAGS", "").split()  # default: all four example DAGs
    if dags == ["none"]:
        say(f"== Airflow {version}: example DAGs under airflow dags test skipped (PSEVEN_COMPAT_DAGS=none)")
        result.update(dags_ok=True, dags_failed=[], leaks=[], dags_seconds=0, dags_skipped=True)
        (venv / "results.json").write_text(json.dumps(result, indent=2))
        return result
    say(f"== Airflow {version}: example DAGs and secret sweep (log: {logs / 'compat-check.log'})")
    code, seconds, output = run(
        [str(python), "scripts/compat_check.py", "--workdir", str(venv / "compat-check"), *dags],
        logs / "compat-check.log",
        env,
    )
    lines = [line for line in output.splitlines() if line.startswith("compat-check: ")]
    check = json.loads(lines[-1].split(": ", 1)[1]) if lines else {"failed": ["no result"], "leaks": []}
    result.update(
        dags_ok=code == 0 and not check["failed"],
        dags_failed=check["failed"],
        leaks=check["leaks"],
        dags_seconds=round(seconds),
    )
    for line in output.splitlines():
        if line.startswith("  "):
            say(f"  {line}")
    (venv / "results.json").write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict[str, object]]) -> str:
    rows = [
        "| Airflow | unit + reliability + integration + compat | time | example DAGs (`airflow dags test`) | secret sweep | time |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        dags = "all succeeded" if r["dags_ok"] else "FAILED: " + ", ".join(map(str, r["dags_failed"]))
        if r.get("dags_skipped"):
            dags = "skipped"
        sweep = "clean" if not r["leaks"] else "LEAKS: " + "; ".join(map(str, r["leaks"]))
        rows.append(
            f"| {r['version']} | {r['pytest']} | {r['pytest_seconds']} s | {dags} | {sweep} | {r['dags_seconds']} s |"
        )
    return "\n".join(rows)


def main(versions: list[str]) -> int:
    if not versions:
        say("usage: test_compat.py VERSION...")
        return 2
    started = time.monotonic()
    results = [check_version(v) for v in versions]
    say("")
    say(table(results))
    say(f"\nmake test-compat: {time.monotonic() - started:.0f} s for {', '.join(versions)}")
    ok = all(r["pytest_ok"] and r["dags_ok"] and not r["leaks"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
