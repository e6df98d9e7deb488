"""The sweep's pure rules: run names, concurrency, the failure budget, attempts, the best row."""

from __future__ import annotations

import math

import pytest

from airflow_provider_pseven.sweeps import policy


def test_run_names_parse_back_and_ignore_other_runs():
    prefix = policy.sweep_prefix("nightly regression", "sweep/disk", "ab12cd34", map_index=3)
    assert prefix == "nightly_regression.sweep_disk.m3.ab12cd34."
    name = policy.run_name(prefix, 41, 2)
    assert policy.parse_run_name(prefix, name) == (41, 2)
    assert policy.parse_run_name(prefix, "Toy named run") is None
    assert policy.parse_run_name(prefix, prefix + "p1.a1.copy") is None
    other = policy.sweep_prefix("nightly regression", "sweep/disk", "ffffffff", map_index=3)
    assert policy.parse_run_name(other, name) is None


def test_run_names_stay_short_with_long_ids():
    prefix = policy.sweep_prefix("d" * 300, "t" * 300, "k" * 8)
    assert len(policy.run_name(prefix, 9_999_999, 99)) <= policy.MAX_NAME
    assert prefix.endswith(".kkkkkkkk.")


def test_unmapped_task_has_no_map_part():
    assert policy.sweep_prefix("d", "t", "k", -1) == "d.t.k."
    assert policy.sweep_prefix("d", "t", "k", None) == "d.t.k."


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "50", None])
def test_concurrency_must_be_a_positive_count(bad):
    with pytest.raises(ValueError, match="max_active_runs must be a positive whole number"):
        policy.check_concurrency(bad)


def test_concurrency_above_the_table_is_clamped_with_a_line():
    assert policy.clamp_concurrency(50, 20) == (20, pytest.approx(policy.clamp_concurrency(50, 20)[1]))
    used, note = policy.clamp_concurrency(50, 20)
    assert used == 20 and "more than the table's 20 points" in (note or "")
    assert policy.clamp_concurrency(5, 20) == (5, None)


@pytest.mark.parametrize(
    ("given", "points", "allowed"), [(0, 10, 0), (3, 10, 3), (0.1, 10, 1), (0.25, 7, 1), (0.0, 5, 0)]
)
def test_failure_budget_as_count_or_fraction(given, points, allowed):
    assert policy.allowed_failures(policy.check_max_failed(given), points) == allowed


@pytest.mark.parametrize("bad", [-1, 1.0, 1.5, -0.1, True, "3", None])
def test_failure_budget_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="max_failed_points"):
        policy.check_max_failed(bad)


@pytest.mark.parametrize("bad", [-1, 1.0, True, None])
def test_retries_per_point_is_a_count(bad):
    with pytest.raises(ValueError, match="retries_per_point"):
        policy.check_retries(bad)


def test_keep_runs_choices_and_what_they_delete():
    with pytest.raises(ValueError, match="keep_runs must be one of failed, all, none"):
        policy.check_keep_runs("some")
    assert policy.deletes("failed", "FINISHED") and not policy.deletes("failed", "FAILED")
    assert not policy.deletes("failed", "INTERRUPTED")
    assert policy.deletes("none", "FAILED") and policy.deletes("none", "FINISHED")
    assert not policy.deletes("all", "FINISHED")


@pytest.mark.parametrize(
    ("found", "max_attempts", "expected"),
    [
        ({}, 3, (1, True)),
        ({1: "RUNNING"}, 3, (1, False)),  # adopt the live run
        ({1: "FINISHED"}, 3, (1, False)),  # its results are read, not run again
        ({1: "FAILED"}, 3, (2, True)),  # the next attempt is a new run
        ({1: "FAILED", 2: "INTERRUPTED"}, 3, (3, True)),
        ({1: "FAILED", 2: "CONFIGURATION"}, 3, (2, False)),  # deployed, not started: configure it
        ({1: "FAILED"}, 1, (1, False)),  # no attempts left: the failure stands
        ({1: "FAILED", 2: "FAILED"}, 2, (2, False)),
    ],
)
def test_next_attempt_never_deploys_an_attempt_twice(found, max_attempts, expected):
    plan = policy.next_attempt(found, max_attempts)
    assert (plan.attempt, plan.deploy) == expected


def test_tally_goes_over_budget_on_the_first_failure_too_many():
    tally = policy.Tally(points=10, allowed_failed=1)
    tally.add("FINISHED")
    tally.add("FAILED")
    assert not tally.over_budget
    tally.add("INTERRUPTED")
    assert tally.over_budget and tally.ended == 3
    assert tally.line(4) == "3/10 points ended (1 finished, 2 failed, 1 failures allowed), 4 runs live"


def test_best_row_skips_failed_and_non_numbers():
    rows = [
        {"point": 0, "state": "FINISHED", "results": {"mass": 3.0}},
        {"point": 1, "state": "FAILED", "results": {"mass": 0.1}},
        {"point": 2, "state": "FINISHED", "results": {"mass": None}},
        {"point": 3, "state": "FINISHED", "results": {"mass": 2.5}},
        {"point": 4, "state": "FINISHED", "results": {"mass": math.nan}},
        {"point": 5, "state": "FINISHED", "results": {"mass": True}},
        {"point": 6, "state": "FINISHED", "results": {"mass": 7}},
    ]
    assert policy.best_row(rows, "mass", minimize=True)["point"] == 3
    assert policy.best_row(rows, "mass", minimize=False)["point"] == 6
    assert policy.best_row(rows, "missing", minimize=True) is None
