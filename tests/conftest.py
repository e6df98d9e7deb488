"""Test session set-up shared by every suite.

Airflow reads its configuration when it is first imported, so the environment is set here, at
collection time, before any test module imports Airflow: a private AIRFLOW_HOME with SQLite, no
example DAGs, and a DAGs folder holding the project's example DAGs and the integration-test DAGs
(``dag.test()`` runs only DAGs that its bundle can parse).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="pseven-tests-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
DAGS_FOLDER.mkdir()
for source in (ROOT / "example_dags", ROOT / "tests" / "integration" / "dags"):
    for dag_file in sorted(source.glob("*.py")) if source.is_dir() else ():
        shutil.copy(dag_file, DAGS_FOLDER / dag_file.name)

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
os.environ.pop("AIRFLOW_CONN_PSEVEN_DEFAULT", None)
# The API path cache of the suite's clients lives in the suite's own temp dir, not the user's.
os.environ["PSEVEN_API_PATH_CACHE_DIR"] = str(AIRFLOW_HOME / "api-path-cache")

# The whole suite's Secret values are recognisable (see tests/sweep_values.py); tests may override.
from tests.sweep_values import SWEEP_SECRET, SWEEP_TOKEN, leaks  # noqa: E402

for _name in ("PSEVEN_IT_SECRET", "AIRFLOW_VAR_PSEVEN_MY_SECRET"):
    os.environ[_name] = SWEEP_SECRET

import pytest  # noqa: E402

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="session")
def forward_proxy(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The session's forward proxy (tinyproxy on loopback, see tests/support/forward_proxy.py)."""
    from tests.support.forward_proxy import ForwardProxy

    with ForwardProxy(tmp_path_factory.mktemp("forward-proxy")) as proxy:
        yield proxy


def use_proxy(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    """Set HTTP_PROXY and HTTPS_PROXY to ``url`` for this test (None: no proxy), clearing every
    other proxy variable of either case (lower case wins where both are set)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    if url is not None:
        monkeypatch.setenv("HTTP_PROXY", url)
        monkeypatch.setenv("HTTPS_PROXY", url)


@pytest.fixture
def pseven_emulator_factory(pseven_emulator_factory, request, monkeypatch):  # type: ignore[no-untyped-def]
    """The plugin's factory, giving every emulator the suite's recognisable token by default.

    An emulator reachable only through a proxy (variant ``access=proxy_only``, in the preset
    ``strictest``) puts the test behind the session's real forward proxy: HTTP_PROXY and
    HTTPS_PROXY point at it, as on a corporate network, so every client of the test (sync and
    deferred) must honour them to reach it.
    """

    def factory(**kwargs):  # type: ignore[no-untyped-def]
        if "users" not in kwargs:
            kwargs.setdefault("token", SWEEP_TOKEN)
        server = pseven_emulator_factory(**kwargs)
        if server.variants.access == "proxy_only":
            use_proxy(monkeypatch, request.getfixturevalue("forward_proxy").address)
        return server

    return factory


@pytest.fixture(autouse=True)
def _no_sweep_value_in_output(request):  # type: ignore[no-untyped-def]
    """After each integration or e2e test: the token and Secret are in no output or log record."""
    if not {"integration", "e2e"} & {marker.name for marker in request.node.iter_markers()}:
        yield
        return
    capfd = request.getfixturevalue("capfd")
    caplog = request.getfixturevalue("caplog")
    yield
    captured = capfd.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    found = leaks(captured.out + captured.err + records)
    assert not found, f"{request.node.nodeid} leaked {found} into its output or log records"


_INTEGRATION_TESTS_RUN: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and "integration" in report.keywords:
        _INTEGRATION_TESTS_RUN.append(report.nodeid)


def _airflow_db_used() -> bool:
    """True once an integration test created the session's metadata database (airflow_harness)."""
    harness = sys.modules.get("tests.integration.airflow_harness")
    return harness is not None and harness.ensure_airflow_db.cache_info().currsize > 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a run with integration tests, sweep what the whole session stored (tests/suite_sweep.py)."""
    try:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if not _INTEGRATION_TESTS_RUN or session.config.option.collectonly:
            return
        if not _airflow_db_used():
            # Integration tests of the client alone (tests/integration/test_client_aio_http.py).
            if reporter is not None:
                reporter.write_line("Suite sweep: no integration test that ran used Airflow's database")
            return
        from tests.suite_sweep import sweep_problems

        problems = sweep_problems(AIRFLOW_HOME)
        if problems:
            if reporter is not None:
                for problem in problems:
                    reporter.write_line(f"SUITE SWEEP FAILED: {problem}", red=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        elif reporter is not None:
            reporter.write_line(
                f"Suite sweep: no sweep value in what {len(_INTEGRATION_TESTS_RUN)} integration tests stored"
            )
    finally:
        shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
