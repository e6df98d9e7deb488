"""The pure rules of a sweep: run names, concurrency, the failure budget, and the best row.

No I/O here, so the rules are unit-tested fast and read the same in the operator and the trigger.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9_+-]+")
#: Run names stay well under the length of a file name: the run is a ``<name>.p7run`` directory.
MAX_NAME = 200
KEEP_CHOICES = ("failed", "all", "none")


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "x"


def sweep_prefix(dag_id: str, task_id: str, key: str, map_index: int | None = None) -> str:
    """``<dag>.<task>[.m<map index>].<key>.``: the start of every run name of one sweep.

    ``key`` is a random token made once per sweep and kept in its manifest, so every try of the
    task finds the same runs and a cleared task (a new manifest) starts a new sweep. Only letters,
    digits, ``_``, ``+``, ``-`` and dots appear, so the name is a valid file name anywhere.
    """
    mapped = f".m{map_index}" if map_index is not None and map_index >= 0 else ""
    tail = f"{mapped}.{_safe(key)}."
    room = MAX_NAME - len(tail) - len(".p0000000.a00")
    head = f"{_safe(dag_id)}.{_safe(task_id)}"[:room]
    return head + tail


def run_name(prefix: str, point: int, attempt: int) -> str:
    """The one name a point's attempt is deployed under: a restarted sweep finds it by name."""
    return f"{prefix}p{point}.a{attempt}"


def parse_run_name(prefix: str, name: str) -> tuple[int, int] | None:
    """``(point, attempt)`` of a run this sweep named, or None for any other run."""
    if not name.startswith(prefix):
        return None
    match = re.fullmatch(r"p(\d+)\.a(\d+)", name[len(prefix) :])
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def check_concurrency(max_active_runs: Any) -> int:
    """A positive whole number of runs, else an error saying what to give."""
    if isinstance(max_active_runs, bool) or not isinstance(max_active_runs, int) or max_active_runs <= 0:
        raise ValueError(
            f"max_active_runs must be a positive whole number of concurrent pSeven runs, not {max_active_runs!r}"
        )
    return max_active_runs


def clamp_concurrency(max_active_runs: int, points: int) -> tuple[int, str | None]:
    """The concurrency to use for ``points`` points, and a log line when it was lowered."""
    if max_active_runs > points:
        return points, (
            f"max_active_runs={max_active_runs} is more than the table's {points} points: "
            f"running at most {points} at once"
        )
    return max_active_runs, None


def check_max_failed(max_failed_points: Any) -> int | float:
    """A count (``>= 0``) or a fraction of the points (``0 < x < 1``)."""
    ok = isinstance(max_failed_points, (int, float)) and not isinstance(max_failed_points, bool)
    if ok and isinstance(max_failed_points, int) and max_failed_points >= 0:
        return max_failed_points
    if ok and isinstance(max_failed_points, float) and 0.0 <= max_failed_points < 1.0:
        return max_failed_points
    raise ValueError(
        "max_failed_points must be a count of points (a whole number >= 0) or a fraction of them "
        f"(0 <= x < 1), not {max_failed_points!r}"
    )


def allowed_failures(max_failed_points: int | float, points: int) -> int:
    """How many points may fail before the sweep fails: a count as given, a fraction rounded down."""
    if isinstance(max_failed_points, float):
        return math.floor(max_failed_points * points)
    return max_failed_points


def check_retries(retries_per_point: Any) -> int:
    if isinstance(retries_per_point, bool) or not isinstance(retries_per_point, int) or retries_per_point < 0:
        raise ValueError(f"retries_per_point must be a whole number >= 0, not {retries_per_point!r}")
    return retries_per_point


def check_keep_runs(keep_runs: Any) -> str:
    if keep_runs not in KEEP_CHOICES:
        raise ValueError(f"keep_runs must be one of {', '.join(KEEP_CHOICES)}, not {keep_runs!r}")
    return str(keep_runs)


def deletes(keep_runs: str, state: str) -> bool:
    """Whether a run that ended in ``state`` is deleted once its row is stored."""
    if keep_runs == "all":
        return False
    if keep_runs == "none":
        return True
    return state == "FINISHED"


@dataclass(frozen=True)
class Attempts:
    """What the runs found on the server say about one point: where to go on from."""

    attempt: int  # the attempt to watch, or to deploy if ``deploy``
    deploy: bool


def next_attempt(found: Mapping[int, str], max_attempts: int) -> Attempts:
    """From ``{attempt: state}`` of a point's runs on the server: the run to adopt, or the attempt
    to deploy next. The highest attempt is the current one; an ended one that failed is followed
    by the next attempt while attempts remain, so no attempt is ever deployed twice."""
    if not found:
        return Attempts(1, deploy=True)
    last = max(found)
    if found[last] in ("FAILED", "INTERRUPTED") and last < max_attempts:
        return Attempts(last + 1, deploy=True)
    return Attempts(last, deploy=False)


@dataclass
class Tally:
    """Counts of ended points, and the failure budget."""

    points: int
    allowed_failed: int
    finished: int = 0
    failed: int = 0

    def add(self, state: str) -> None:
        if state == "FINISHED":
            self.finished += 1
        else:
            self.failed += 1

    @property
    def over_budget(self) -> bool:
        return self.failed > self.allowed_failed

    @property
    def ended(self) -> int:
        return self.finished + self.failed

    def line(self, live: int) -> str:
        return (
            f"{self.ended}/{self.points} points ended ({self.finished} finished, {self.failed} failed, "
            f"{self.allowed_failed} failures allowed), {live} runs live"
        )


def best_row(rows: Iterable[Mapping[str, Any]], objective: str, minimize: bool) -> dict[str, Any] | None:
    """The finished row whose result ``objective`` is lowest (or highest); rows without a number
    there are skipped."""
    best: dict[str, Any] | None = None
    best_value = 0.0
    for row in rows:
        if row.get("state") != "FINISHED":
            continue
        value = (row.get("results") or {}).get(objective)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            continue
        if best is None or (value < best_value if minimize else value > best_value):
            best, best_value = dict(row), float(value)
    return best
