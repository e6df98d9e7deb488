"""Import cost of our operators as CPU instructions (valgrind's callgrind): a figure no load changes.

On a shared machine the wall-clock medians of ``benchmarks/import_cost.py`` move with the load (a
2-core VM at load 10 triples them). Instructions do not: callgrind counts the same total for the same
interpreter, files and environment whatever else runs. Each tree is counted twice, a fresh interpreter
that imports ``airflow.sdk`` and ``BaseOperator`` (what every task process has), and one that then
also imports ``airflow_provider_pseven.operators`` and resolves every name of its ``__all__``; the
difference is ours. With ``--against REV=MS`` the same is counted for the commit REV, whose import
took MS milliseconds on a quiet machine (``import_cost.py``), and this tree's instructions are turned
into milliseconds at that commit's rate::

    .venv/bin/python benchmarks/import_instructions.py --against 100c33b=28.5

About two minutes per tree. Needs valgrind (Debian's package) and a git checkout for ``--against``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "import airflow.sdk\nfrom airflow.sdk import BaseOperator\n"
OURS = (
    BASE + 'm = __import__("airflow_provider_pseven.operators", fromlist=["__all__"])\n'
    "[getattr(m, name) for name in m.__all__]\n"
)
COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(tree: Path, code: str, pycache: str) -> int:
    """Instructions callgrind counts for ``python -c code`` with ``tree`` first on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=pycache)
    subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, check=True)  # writes the .pyc files
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}/cg.out",
                sys.executable,
                "-c",
                code,
            ],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
            check=True,
        )
    found = COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def ours(tree: Path) -> int:
    """Instructions our operators' import adds to a task process's ``airflow.sdk``."""
    pycache = tempfile.mkdtemp(prefix="pseven-instructions-")
    try:
        return instructions(tree, OURS, pycache) - instructions(tree, BASE, pycache)
    finally:
        shutil.rmtree(pycache, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", metavar="REV=MS", help="a commit and its quiet-machine import ms")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 2
    here = ours(ROOT)
    print(f"this tree: {here / 1e6:.1f} M instructions over airflow.sdk")
    if args.against:
        rev, _, ms = args.against.partition("=")
        worktree = Path(tempfile.mkdtemp(prefix="pseven-against-")) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), rev], cwd=ROOT, check=True)
        try:
            then = ours(worktree)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)
        rate = then / float(ms)
        print(f"{rev}: {then / 1e6:.1f} M instructions, {float(ms):g} ms on a quiet machine")
        print(f"this tree at {rev}'s rate: {here / rate:.1f} ms ({here / then:.2f} of {rev}'s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
