"""The watermark of RunEventTrigger (client/events.py): which runs to report, and what to remember.

Edge cases of issue 12: two runs finishing in one poll; a run FINISHED then deleted before the
poll; clock skew between the server and the triggerer; a runs list that omits a run for a while;
and restarts (a stored watermark read back). The state store being unavailable is a trigger
matter: tests/unit/airflow/test_af_run_event.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_pseven.client import FileEntry, Run, RunKind, RunState
from airflow_provider_pseven.client import events as ev
from airflow_provider_pseven.client.errors import (
    PsevenAuthError,
    PsevenNotFoundError,
    PsevenNotJsonError,
    PsevenServerError,
    PsevenTransportError,
)

FINISHED = [RunState.FINISHED]
T0 = 1_800_000_000.0


def run(run_id: str, state: str, **extra: object) -> Run:
    return Run.from_json(
        {
            "id": run_id,
            "name": f"#{run_id}",
            "path": f"/Users/1/Toy.p7wf/@Runs/{run_id}.p7run",
            "url": f"http://x/runs/{run_id}/",
            "state": state,
            **extra,
        }
    )


def ids(runs) -> list[str]:
    return [r.id for r in runs]


def restart(mark: ev.Watermark) -> ev.Watermark:
    """What a new triggerer reads back from the asset state store (through JSON, as stored)."""
    return ev.Watermark.from_json(json.loads(json.dumps(mark.to_json())))


def test_first_start_reports_only_runs_that_end_after_it():
    runs = [run("a", "FINISHED"), run("b", "RUNNING"), run("c", "CONFIGURATION"), run("d", "FAILED")]
    mark = ev.baseline("id", runs, T0)

    assert ev.select(mark, runs, FINISHED, 1, T0).report == ()
    later = [run("a", "FINISHED"), run("b", "FINISHED"), run("c", "RUNNING"), run("e", "FINISHED")]
    assert ids(ev.select(mark, later, FINISHED, 2, T0 + 30).report) == ["b", "e"]


def test_each_run_is_reported_once_across_polls_and_confirmations():
    mark = ev.baseline("id", [], T0)
    runs = [run("a", "FINISHED")]
    first = ev.select(mark, runs, FINISHED, 1, T0)
    assert ids(first.report) == ["a"] and first.changed
    assert ev.select(mark, runs, FINISHED, 2, T0 + 30).report == ()  # pending: not again
    assert ev.confirm(mark, 1) == ["a"]
    assert ev.select(mark, runs, FINISHED, 3, T0 + 60).report == ()  # seen: never again
    assert not ev.select(mark, runs, FINISHED, 4, T0 + 90).changed  # steady: nothing to write


def test_two_runs_finishing_in_the_same_poll_are_two_reports():
    mark = ev.baseline("id", [run("a", "RUNNING"), run("b", "RUNNING")], T0)
    selection = ev.select(mark, [run("a", "FINISHED"), run("b", "FINISHED")], FINISHED, 2, T0 + 30)
    assert ids(selection.report) == ["a", "b"]
    assert ev.confirm(mark, 2) == ["a", "b"]
    assert ev.select(mark, [run("a", "FINISHED"), run("b", "FINISHED")], FINISHED, 3, T0 + 60).report == ()


def test_a_run_finished_then_deleted_before_the_poll_is_not_reported_and_leaves_no_trace():
    """The API no longer shows it: nothing can be reported (its results are gone too), and the
    watermark does not grow for it."""
    mark = ev.baseline("id", [run("a", "RUNNING")], T0)
    selection = ev.select(mark, [], FINISHED, 2, T0 + 30)
    assert selection.report == () and not mark.seen and not mark.pending


def test_states_not_watched_are_remembered_without_a_report():
    mark = ev.baseline("id", [], T0)
    selection = ev.select(mark, [run("a", "FAILED"), run("b", "INTERRUPTED")], FINISHED, 1, T0)
    assert selection.report == () and selection.changed
    assert ev.digest("a") in mark.seen and not mark.pending
    failures = ev.select(mark, [run("c", "FAILED")], [RunState.FAILED, RunState.INTERRUPTED], 2, T0)
    assert ids(failures.report) == ["c"]


@pytest.mark.parametrize("skew", [-6 * 3600, 6 * 3600, 400 * 24 * 3600])
def test_clock_skew_between_server_and_triggerer_changes_nothing(skew):
    """Only ids and states decide: server times in the runs (any field a newer server adds) are
    not compared with the triggerer's clock."""
    server_now = datetime.fromtimestamp(T0 + skew, UTC).isoformat()

    def seen_by(now: float) -> list[list[str]]:
        mark = ev.baseline("id", [run("a", "RUNNING", updated=server_now)], now)
        polls = [
            [run("a", "FINISHED", updated=server_now), run("b", "QUEUED_TO_RUN", updated=server_now)],
            [run("a", "FINISHED", updated=server_now), run("b", "FINISHED", updated=server_now)],
        ]
        reported = []
        for i, runs in enumerate(polls, 1):
            reported.append(ids(ev.select(mark, runs, FINISHED, i, now + 30 * i).report))
            ev.confirm(mark, i)
        return reported

    assert seen_by(T0) == seen_by(T0 + skew) == [["a"], ["b"]]


def test_a_triggerer_clock_that_jumps_back_forgets_nothing():
    mark = ev.baseline("id", [run("a", "FINISHED")], T0)
    ev.select(mark, [], FINISHED, 1, T0)  # "a" goes missing
    ev.select(mark, [], FINISHED, 2, T0 - 30 * 24 * 3600)  # the clock went back a month
    assert ev.select(mark, [run("a", "FINISHED")], FINISHED, 3, T0 + 60).report == ()


def test_a_runs_list_that_omits_a_run_for_a_while_does_not_report_it_again():
    mark = ev.baseline("id", [], T0)
    ev.select(mark, [run("a", "FINISHED")], FINISHED, 1, T0)
    ev.confirm(mark, 1)
    gap = ev.select(mark, [run("b", "RUNNING")], FINISHED, 2, T0 + 30)
    assert gap.changed and ev.digest("a") in mark.absent  # missing: remembered as absent
    mark = restart(mark)  # and across a restart
    back = ev.select(mark, [run("a", "FINISHED"), run("b", "RUNNING")], FINISHED, 3, T0 + 3 * 24 * 3600)
    assert back.report == () and back.changed and not mark.absent


def test_a_run_that_finishes_while_omitted_is_reported_once_when_it_reappears():
    mark = ev.baseline("id", [run("a", "RUNNING")], T0)
    assert ev.select(mark, [], FINISHED, 2, T0 + 30).report == ()
    assert ids(ev.select(mark, [run("a", "FINISHED")], FINISHED, 3, T0 + 60).report) == ["a"]


def test_runs_absent_for_a_week_are_forgotten_and_absences_are_bounded(monkeypatch):
    mark = ev.baseline("id", [run("a", "FINISHED"), run("b", "FINISHED")], T0)
    ev.select(mark, [run("b", "FINISHED")], FINISHED, 1, T0)
    assert ev.select(mark, [run("b", "FINISHED")], FINISHED, 2, T0 + ev.FORGET_AFTER).changed
    assert mark.seen == {ev.digest("b")} and not mark.absent

    monkeypatch.setattr(ev, "MAX_ABSENT", 2)
    mark = ev.baseline("id", [run(str(i), "FINISHED") for i in range(5)], T0)
    for i in range(5):  # they go missing one after the other
        ev.select(mark, [run(str(j), "FINISHED") for j in range(i + 1, 5)], FINISHED, i, T0 + i)
    assert set(mark.absent) == {ev.digest("3"), ev.digest("4")}  # the two most recent
    assert mark.seen == {ev.digest("3"), ev.digest("4")}


def test_a_restart_reports_pending_runs_again_marked_redelivered_and_seen_ones_never():
    mark = ev.baseline("id", [], T0)
    ev.select(mark, [run("a", "FINISHED")], FINISHED, 1, T0)
    ev.confirm(mark, 1)  # "a": its event was stored
    ev.select(mark, [run("a", "FINISHED"), run("b", "FINISHED")], FINISHED, 2, T0 + 30)
    # the triggerer dies before the event of "b" is confirmed stored
    mark = restart(mark)
    assert mark.pending == {"b": None}
    selection = ev.select(mark, [run("a", "FINISHED"), run("b", "FINISHED")], FINISHED, 1, T0 + 90)
    assert ids(selection.report) == ["b"] and selection.redelivered == {"b"}
    ev.confirm(mark, 1)
    assert ev.select(mark, [run("a", "FINISHED"), run("b", "FINISHED")], FINISHED, 2, T0 + 120).report == ()


def test_a_pending_run_gone_after_a_restart_is_dropped():
    mark = ev.baseline("id", [], T0)
    ev.select(mark, [run("a", "FINISHED")], FINISHED, 1, T0)
    mark = restart(mark)
    assert ev.select(mark, [], FINISHED, 1, T0 + 30).report == ()
    assert not mark.pending and ev.digest("a") in mark.seen


def test_deferred_runs_wait_for_a_later_poll():
    mark = ev.baseline("id", [], T0)
    assert ev.select(mark, [run("a", "FINISHED")], FINISHED, 1, T0, defer={"a"}).report == ()
    assert ids(ev.select(mark, [run("a", "FINISHED")], FINISHED, 2, T0 + 30).report) == ["a"]


def test_forget_pending_takes_back_runs_whose_events_were_never_handed_over():
    mark = ev.baseline("id", [], T0)
    ev.select(mark, [run("a", "FINISHED")], FINISHED, 1, T0)
    ev.forget_pending(mark, ["a"])
    assert ids(ev.select(mark, [run("a", "FINISHED")], FINISHED, 2, T0).report) == ["a"]


def test_the_stored_form_is_compact_json_and_round_trips():
    runs = [run(f"{i:032x}", "FINISHED") for i in range(8000)]
    mark = ev.baseline("conn|workflow|/Users/1/Toy.p7wf|FINISHED", runs, T0)
    text = json.dumps(mark.to_json())
    assert len(text) < 65535  # Airflow's state-store size guideline, at 8,000 runs
    again = restart(mark)
    assert again.seen == mark.seen and again.identity == mark.identity


@pytest.mark.parametrize(
    "stored",
    [
        None,
        {},
        {"v": 99},
        {"v": 1, "identity": "x"},
        {"v": 1, "identity": "x", "started": 1, "seen": "%%", "pending": [], "absent": {}},
    ],
)
def test_a_damaged_watermark_is_an_error_not_an_empty_one(stored):
    with pytest.raises(ev.WatermarkError):
        ev.Watermark.from_json(stored)


def test_backfill_reports_runs_that_ended_since_by_the_servers_times():
    since = datetime(2026, 1, 10, tzinfo=UTC)
    old, new, unknown = run("old", "FINISHED"), run("new", "FINISHED"), run("unknown", "FINISHED")
    ended = {"old": since - timedelta(seconds=1), "new": since, "unknown": None}
    assert ids(ev.backfill([old, new, unknown], ended, since)) == ["new", "unknown"]


def test_end_time_from_a_run_field_or_the_newest_file_of_the_run():
    with_field = run("a", "FINISHED", finished="2026-01-10T12:00:00Z")
    assert ev.end_time(with_field) == datetime(2026, 1, 10, 12, tzinfo=UTC)
    entries = [
        FileEntry("x", 1, False, datetime(2026, 1, 9, 8, 0, tzinfo=UTC)),
        FileEntry(".p7.log.txt", 1, False, datetime(2026, 1, 9, 9, 0, tzinfo=UTC)),
    ]
    assert ev.end_time(run("b", "FINISHED"), entries) == datetime(2026, 1, 9, 9, tzinfo=UTC)
    assert ev.end_time(run("c", "FINISHED")) is None


def test_parse_time_takes_datetimes_iso_text_and_unix_times():
    aware = datetime(2026, 1, 10, tzinfo=UTC)
    assert ev.parse_time(aware) == aware
    assert ev.parse_time("2026-01-10T00:00:00Z") == aware
    assert ev.parse_time(aware.timestamp()) == aware
    assert ev.parse_time("2026-01-10T00:00:00").tzinfo is not None  # local zone
    assert ev.parse_time("yesterday") is None and ev.parse_time(None) is None


def test_payload_has_the_address_summary_and_results():
    finished = run("r1", "FINISHED")
    data = ev.payload(RunKind.WORKFLOW, "wf", finished, {"MyResult": 99, "Bad": float("nan")})
    assert data == {
        "workflow_id": "wf",
        "run_id": "r1",
        "name": "#r1",
        "path": "/Users/1/Toy.p7wf/@Runs/r1.p7run",
        "url": "http://x/runs/r1/",
        "state": "FINISHED",
        "results": {"MyResult": 99, "Bad": None},
    }
    app = ev.payload(RunKind.APP, "app", finished, None, redelivered=True)
    assert app["app_id"] == "app" and "results" not in app and app["redelivered"] is True
    json.dumps(data, allow_nan=False)


def test_errors_are_transient_or_say_what_to_fix():
    busy = PsevenServerError("GET", "workflows/x/runs/", 429, "slow down")
    busy.retry_after = 42.0
    assert ev.trouble(busy, "workflow 'x'", "c") == ev.Trouble(
        True, "workflow 'x': " + str(busy) + "; polling again", 42.0
    )
    assert ev.trouble(PsevenTransportError("GET", "p", "refused", sent=False), "w", "c").transient
    token = ev.trouble(PsevenAuthError("GET", "p", 403, "Invalid token."), "workflow 'x'", "pseven_default")
    assert not token.transient and "API token of connection 'pseven_default'" in token.message
    gone = ev.trouble(PsevenNotFoundError("GET", "p", 404, "Not found."), "workflow 'x'", "c")
    assert "does not exist" in gone.message and "workflow=" in gone.message
    host = ev.trouble(PsevenNotJsonError("GET", "http://h/", 200, "text/html", "<html>"), "w", "c")
    assert "wrong host" in host.message


def test_the_pacer_never_busy_loops():
    pacer = ev.Pacer(interval=30.0, slow=120.0, slowest=900.0)
    assert pacer.after(None) == 30.0
    assert pacer.after(ev.Trouble(True, "", None)) == 30.0
    assert pacer.after(ev.Trouble(True, "", 300.0)) == 300.0  # Retry-After honoured
    permanent = ev.Trouble(False, "")
    assert [pacer.after(permanent) for _ in range(6)] == [120.0, 240.0, 480.0, 900.0, 900.0, 900.0]
    assert pacer.after(None) == 30.0
    assert ev.Pacer(interval=1000.0).after(permanent) == 1000.0
