"""The tab's parts without a server: bounded log tails, file names, caches, streaming, and that
nothing of the UI is imported where tasks run."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from airflow_provider_pseven.links import tab_path
from airflow_provider_pseven.ui.cache import TtlCache
from airflow_provider_pseven.ui.files import checked_path, file_headers
from airflow_provider_pseven.ui.records import recorded_run
from airflow_provider_pseven.ui.streaming import QueueSink
from airflow_provider_pseven.ui.views import BoundedTail, parameter_rows

ROOT = Path(__file__).resolve().parents[2]


def test_a_huge_log_keeps_only_its_tail_even_without_line_breaks() -> None:
    sink = BoundedTail(lines=3, max_line=100)
    sink.begin(None)
    for _ in range(1000):
        sink.write(b"x" * 10_000)  # 10 MB, one line
    sink.write(b"\nlast line\n")
    sink.finish()
    assert len(sink.text) < 400 and sink.text.endswith("last line")
    assert sink.bytes_seen == 10_000_000 + 11


@pytest.mark.parametrize("path", ["..", "a/../b", "/abs", "a\x00b", "a\nb", "a\\b", "", "a//b"])
def test_paths_that_could_escape_or_forge_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        checked_path(path)


def test_unicode_names_are_served_with_a_safe_disposition() -> None:
    assert checked_path("🏠.Disk Model [0001].p7wd/diagrams.png")
    kind, headers = file_headers('dir/"quote"é.svg', inline=True)
    assert kind == "image/svg+xml" and headers["Content-Security-Policy"].startswith("sandbox")
    assert (
        '"_quote_' in headers["Content-Disposition"] and "filename*=UTF-8''" in headers["Content-Disposition"]
    )
    assert file_headers("page.html", inline=True)[0] == "application/octet-stream"


def test_secrets_show_as_set_or_unset_only() -> None:
    from airflow_provider_pseven.client import Parameter

    rows = parameter_rows(
        [Parameter("1", "A", ""), Parameter("2", "B", None), Parameter("3", "C", "", is_secret=True)],
        secrets=["A", "2"],
    )
    assert [r["value"] for r in rows] == ["set", "unset", "set"]


def test_a_summary_without_an_address_is_no_run() -> None:
    assert recorded_run({"return_value": {"MyResult": 99}}) is None
    assert recorded_run({"return_value": {"workflow_id": "../x", "run_id": "r"}}) is None
    found = recorded_run({"return_value": {"workflow_id": "w", "run_id": "r", "name": "n"}})
    assert found is not None and found.conn_id == "pseven_default" and found.task_view["name"] == "n"


def test_the_cache_computes_once_for_concurrent_callers() -> None:
    calls = []
    gate = threading.Event()
    cache: TtlCache[int] = TtlCache(60)

    def compute() -> int:
        calls.append(1)
        gate.wait(5)
        return 7

    threads = [threading.Thread(target=lambda: cache.get("k", compute)) for _ in range(10)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and cache.get("k", compute) == 7


def test_a_stream_whose_reader_left_stops_the_download() -> None:
    chunks: queue.Queue[object] = queue.Queue(1)
    cancelled = threading.Event()
    sink = QueueSink(chunks, cancelled)
    sink.begin(None)
    sink.write(b"a")
    cancelled.set()
    with pytest.raises(Exception):  # noqa: B017 (the private _Cancelled)
        sink.write(b"b")  # the queue is full and nobody reads: it gives up instead of blocking


def test_the_tab_path_is_the_uis_task_instance_path() -> None:
    assert tab_path("d", "r:1+2", "t") == "/dags/d/runs/r%3A1%2B2/tasks/t/plugin/pseven-run"
    assert tab_path("d", "r", "t", 3) == "/dags/d/runs/r/tasks/t/mapped/3/plugin/pseven-run"


def test_workers_import_nothing_of_the_ui_and_the_plugin_builds_no_app_until_called() -> None:
    code = (
        "import sys, airflow_provider_pseven.operators, airflow_provider_pseven.sensors, "
        "airflow_provider_pseven.triggers, airflow_provider_pseven.links\n"
        "print(sorted(m for m in sys.modules if m.startswith(('airflow_provider_pseven.ui', 'fastapi'))))\n"
        "from airflow_provider_pseven.ui.plugin import PsevenUiPlugin\n"
        "print(PsevenUiPlugin.external_views[0]['destination'], 'airflow_provider_pseven.ui.app' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "task_instance False"], done.stdout
