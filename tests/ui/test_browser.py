"""The tab in a real browser: Playwright drives Debian's Chromium through a real ``airflow
api-server`` (simple auth manager, multi-team), whose DAG run ``airflow dags test`` made against
the emulator. One server for the module. Screenshots of the first three cases go to docs/images
when PSEVEN_UI_SCREENSHOTS is set (``make ui-screenshots``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.ui.airflow_server import DAG_ID, AirflowServer

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def _chromium() -> str | None:
    return os.environ.get("PSEVEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _requirements() -> None:
    import airflow

    from airflow_provider_pseven.compat import AIRFLOW_VERSION

    lacks = []
    if AIRFLOW_VERSION[:2] < (3, 2):
        lacks.append(f"Airflow 3.2+ for multi-team access control (this is {airflow.__version__})")
    try:
        import playwright  # noqa: F401
    except ImportError:
        lacks.append("playwright (make cluster-deps)")
    if _chromium() is None:
        lacks.append("Chromium (scripts/install_browser.sh)")
    if lacks:
        if os.environ.get("CI"):
            pytest.fail("; ".join(lacks), pytrace=False)
        pytest.skip("; ".join(lacks))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowServer, str, Any]]:
    _requirements()
    from airflow_provider_pseven.emulator.server import EmulatorServer

    emulator = EmulatorServer(time_scale=0.1).start()
    airflow = AirflowServer(tmp_path_factory.mktemp("airflow-ui"), emulator)
    try:
        airflow.prepare()
        airflow.start()
        print("airflow commands (s):", {k: round(v, 1) for k, v in airflow.timings.items()})
        yield airflow, airflow.dag_run_id(), emulator
    finally:
        airflow.stop()
        emulator.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def eng(server: Any, browser: Any) -> Any:
    """A page signed in as ``eng`` (a viewer of the DAG's team), shared by the module's tests."""
    return signed_in(browser, server[0], "eng")


def signed_in(browser: Any, airflow: AirflowServer, user: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(30_000)
    page.goto(airflow.url + "/")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(airflow.passwords[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(airflow.url + "/")
    return page


def open_tab(page: Any, airflow: AirflowServer, run_id: str, task_id: str, map_index: int = -1) -> Any:
    mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
    page.goto(
        f"{airflow.url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{task_id}{mapped}/plugin/pseven-run"
    )
    frame = page.frame_locator("iframe")
    frame.locator("#state, #message, #denied").first.wait_for()
    return frame


def open_tab_alone(page: Any, airflow: AirflowServer, run_id: str, task_id: str, map_index: int = -1) -> Any:
    """The tab's own page (what the UI frames), without loading the whole UI around it."""
    page.goto(f"{airflow.url}/pseven/ti/{DAG_ID}/{quote(run_id, safe='')}/{task_id}/{map_index}")
    page.locator("#state, #message, #denied").first.wait_for()
    return page


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("PSEVEN_UI_SCREENSHOTS"):
        page.wait_for_timeout(500)
        page.screenshot(path=str(DOCS_IMAGES / f"ui-{name}.png"))


def test_finished_run_shows_values_log_and_its_plot(server: Any, eng: Any) -> None:
    airflow, run_id, _ = server
    page = eng
    tab = open_tab(page, airflow, run_id, "toy")
    assert tab.locator("#state").inner_text() == "FINISHED"
    assert "Secret: set" in tab.locator("table").first.inner_text()
    assert "hunter2" not in page.content() and "hunter2" not in tab.locator("body").inner_html()
    tab.get_by_role("button", name="Disk Model").click()
    plot = tab.locator("img.preview").first
    plot.wait_for()
    page.wait_for_function(
        "() => [...document.querySelector('iframe').contentDocument.images].some(i => i.naturalWidth > 0)"
    )
    assert tab.locator("table", has_text="mass").count() >= 1 or tab.get_by_text("design.csv").count() == 1
    assert not tab.locator("#interrupt").count()  # a finished run offers no interrupt
    plot.scroll_into_view_if_needed()
    screenshot(page, "finished")


def test_running_run_follows_its_state_and_log(server: Any, eng: Any) -> None:
    airflow, run_id, _ = server
    page = eng
    tab = open_tab(page, airflow, run_id, "start_slow")
    assert tab.locator("#state").inner_text() == "RUNNING"
    first = tab.locator("#log").inner_text()
    page.wait_for_function(
        "(before) => document.querySelector('iframe').contentDocument.querySelector('#log').textContent !== before",
        arg=first,
        timeout=20_000,
    )
    screenshot(page, "running")
    # a viewer may look but not interrupt: Airflow's own permission check answers 403
    tab.locator("#interrupt").click()
    tab.get_by_text("Interrupt refused: 403").wait_for()


def test_failed_run_shows_the_reason_in_the_log_tail(server: Any, eng: Any) -> None:
    airflow, run_id, _ = server
    page = eng
    tab = open_tab(page, airflow, run_id, "failing")
    assert tab.locator("#state").inner_text() == "FAILED"
    assert "negative Jacobian" in tab.locator("#log").inner_text()
    screenshot(page, "failed")


def test_mapped_instances_each_show_their_own_run(server: Any, eng: Any) -> None:
    airflow, run_id, _ = server
    page = eng
    names = set()
    for index, value in ((0, "alpha"), (1, "beta")):
        tab = open_tab_alone(page, airflow, run_id, "sweep", index)
        assert value in tab.locator("table").first.inner_text()
        names.add(tab.locator("h2").inner_text())
    assert len(names) == 2


def test_a_task_without_a_run_says_so(server: Any, eng: Any) -> None:
    airflow, run_id, _ = server
    page = eng
    tab = open_tab_alone(page, airflow, run_id, "not_pseven")
    assert "has not deployed" in tab.locator("#message").inner_text()


def test_a_user_of_another_team_gets_403_for_the_page_data_and_files(server: Any, browser: Any) -> None:
    airflow, run_id, _ = server
    page = signed_in(browser, airflow, "outsider")
    base = f"{airflow.url}/pseven/ti/{DAG_ID}/{quote(run_id, safe='')}/toy/-1"
    answer = page.goto(base)
    assert answer.status == 403
    assert "no access" in page.locator("#denied").inner_text()
    token = {"Authorization": "Bearer " + airflow.token("outsider")}
    api = base.replace("/pseven/ti/", "/pseven/api/ti/")
    for suffix in ("", "/log", "/state", "/files?path=x", "/download?path=results.json"):
        assert requests.get(api + suffix, headers=token, timeout=10).status_code == 403, suffix
    assert (
        requests.post(
            api + "/interrupt", headers={**token, "X-Requested-By": "pseven-ui"}, timeout=10
        ).status_code
        == 403
    )
    # and the same files for a reader of the DAG's team
    reader = {"Authorization": "Bearer " + airflow.token("eng")}
    assert requests.get(api + "/download?path=results.json", headers=reader, timeout=10).status_code == 200


def test_an_operator_of_the_team_interrupts_the_running_run(server: Any, browser: Any) -> None:
    airflow, run_id, _ = server
    ops = {"Authorization": "Bearer " + airflow.token("ops")}
    api = f"{airflow.url}/pseven/api/ti/{DAG_ID}/{quote(run_id, safe='')}/start_slow/-1"
    assert requests.post(api + "/interrupt", headers=ops, timeout=10).status_code == 400  # no header
    answer = requests.post(api + "/interrupt", headers={**ops, "X-Requested-By": "pseven-ui"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text
