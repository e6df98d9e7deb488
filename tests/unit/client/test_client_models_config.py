"""Models parsed from the API's JSON, and the client configuration's checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pseven_client_harness import APP_ID, HOST, PASSWORD, TOKEN, USERNAME, app_json, param_json, params_json

from airflow_provider_pseven.client import (
    AppState,
    AppVersion,
    ClientConfig,
    FileEntry,
    Parameter,
    PsevenConfigError,
    Run,
    RunKind,
    RunState,
    normalize_sign_in_url,
)

# --- Parameter ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "secret"),
    [
        (param_json("a", "S", "", vtype="Secret"), True),
        (param_json("a", "S", "", vtype="secret"), True),
        (param_json("a", "S", None, labels={"type": "secret"}), True),
        (param_json("a", "S", None, labels={"type": " Secret "}), True),
        ({"id": "a", "name": "S", "value": {"data": "", "schema": {"@type": "Secret"}}}, True),
        (param_json("a", "P", "x", vtype="String", labels={"type": "string"}), False),
        (param_json("a", "P", "secret", labels={"note": "the real value is a secret"}), False),
        ({"id": "a", "name": "P", "value": "not a mapping", "labels": ["nor", "this"]}, False),
    ],
)
def test_parameter_secret_detection(data: dict, secret: bool) -> None:
    assert Parameter.from_json(data).is_secret is secret


def test_a_secret_is_shown_as_empty_whether_set_or_not() -> None:
    set_secret = Parameter.from_json(param_json("a", "S", "", vtype="Secret"))
    unset_secret = Parameter.from_json(param_json("a", "S", None, vtype="Secret"))
    plain = Parameter.from_json(param_json("b", "P", 42, vtype="Real"))
    assert (set_secret.shown_value(), unset_secret.shown_value(), plain.shown_value()) == ("", "", 42)
    assert plain.type == "Real"
    assert plain.raw == param_json("b", "P", 42, vtype="Real")


def test_secret_value_is_never_in_repr() -> None:
    parameter = Parameter.from_json(param_json("a", "S", "leaked-value", vtype="Secret"))
    assert parameter.shown_value() == ""
    assert "raw=" not in repr(parameter)


def test_run_result_values_hide_secrets() -> None:
    run = Run.from_json(
        {
            "id": "r",
            "state": "FINISHED",
            "results": [
                param_json("x", "f", 1.5),
                param_json("y", "key", "should-not-show", vtype="Secret"),
            ],
            "parameters": params_json(),
            "app": "/Apps/Toy app.p7wf",
            "logfile_url": f"{HOST}/log",
        }
    )
    assert run.result_values() == {"f": 1.5, "key": ""}
    assert run.parent_path == "/Apps/Toy app.p7wf"
    assert run.logfile_url == f"{HOST}/log"
    assert [p.is_secret for p in run.parameters] == [False, False, True]


def test_run_with_missing_fields() -> None:
    run = Run.from_json({})
    assert (run.id, run.state, run.state_text, run.parameters, run.results) == (
        "",
        RunState.UNKNOWN,
        "UNKNOWN",
        (),
        (),
    )


# --- RunState -------------------------------------------------------------------------------------

STATES = {
    # state: (is_terminal, is_deletable (the guide's DELETE states), has_started, is_active)
    "QUEUED_TO_INITIALIZE": (False, False, False, False),
    "CONFIGURATION": (False, True, False, False),
    "QUEUED_TO_RUN": (False, False, True, True),
    "RUNNING": (False, False, True, True),
    "FINISHED": (True, True, True, False),
    "FAILED": (True, True, True, False),
    "INTERRUPTED": (True, True, True, False),
    "UNKNOWN": (False, False, False, False),
}


@pytest.mark.parametrize(("name", "expected"), sorted(STATES.items()))
def test_run_state_helpers(name: str, expected: tuple[bool, ...]) -> None:
    state = RunState(name)
    assert (
        state.is_terminal,
        state.is_deletable,
        state.has_started,
        state.is_active,
    ) == expected


def test_run_state_unknown_value() -> None:
    assert RunState("PAUSED") is RunState.UNKNOWN
    assert AppState("ARCHIVED") is AppState.UNKNOWN
    assert set(STATES) == {s.value for s in RunState}


def test_run_kind() -> None:
    assert (RunKind.WORKFLOW.collection, RunKind.WORKFLOW.id_field) == ("workflows", "workflow_id")
    assert (RunKind.APP.collection, RunKind.APP.id_field) == ("apps", "app_id")


# --- FileEntry, AppVersion ------------------------------------------------------------------------


def test_file_entry_parsing() -> None:
    entry = FileEntry.from_json(
        {"name": "Optimizer.p7table", "size": 4421, "modified": "2025-03-13T15:07:20.077465", "is_dir": False}
    )
    assert entry == FileEntry("Optimizer.p7table", 4421, False, datetime(2025, 3, 13, 15, 7, 20, 77465))
    zulu = FileEntry.from_json(
        {"name": "d", "size": None, "modified": "2025-03-13T15:07:00Z", "is_dir": True}
    )
    assert zulu == FileEntry("d", 0, True, datetime(2025, 3, 13, 15, 7, 0, tzinfo=UTC))
    assert FileEntry.from_json({"name": "x", "modified": "yesterday"}).modified is None


def test_app_version() -> None:
    app = AppVersion.from_json(app_json(version=3))
    assert app.versioned_id == f"{APP_ID}@3"
    assert (app.revision, app.state, app.workspace_id, app.workspace_name) == (
        0,
        AppState.READY,
        "7",
        "Toy apps",
    )
    unversioned = AppVersion.from_json({"id": APP_ID, "version": None, "state": "INITIALIZING"})
    assert unversioned.versioned_id == APP_ID
    assert unversioned.state is AppState.INITIALIZING
    assert unversioned.workspace_id is None
    assert AppVersion.from_json({"id": APP_ID, "version": "5", "revision": "x"}).version == 5


# --- ClientConfig ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host": ""}, r"No pSeven host is configured\. Set the connection's Host to your sign-in URL"),
        ({"host": "   "}, "No pSeven host is configured"),
        (
            {"host": "ftp://p7.example.com"},
            r"'ftp://p7\.example\.com' is not an http\(s\) URL\. Use the sign-in URL",
        ),
        ({"host": "https://"}, "is not an http"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
        ({"timeout": -5.0}, "timeout must be a positive number of seconds, not -5.0"),
        ({"timeout": "60"}, "timeout must be a positive number of seconds, not '60'"),
        ({"api_path": "rest"}, "api_path must be 'auto', '.rest' or '@rest', not 'rest'"),
        ({"token": None}, r"No pSeven credentials: set the connection's Password to an API token"),
        ({"token": None, "username": USERNAME}, "Login and Password"),
        ({"token": "", "password": PASSWORD}, "No pSeven credentials"),
    ],
)
def test_client_config_validation(kwargs: dict, message: str) -> None:
    arguments = {"host": HOST, "token": TOKEN, **kwargs}
    with pytest.raises(PsevenConfigError, match=message):
        ClientConfig(**arguments)


def test_client_config_defaults_and_credentials() -> None:
    config = ClientConfig("app.pseven.io", username=USERNAME, password=PASSWORD)
    assert config.host == "https://app.pseven.io"
    assert config.api_path == "auto"
    assert config.timeout == 60.0
    assert config.verify is True
    assert ClientConfig(HOST, token=TOKEN, api_path="@rest").api_path == "@rest"
    explicit = ClientConfig(f"{HOST}/pseven/@rest/v2/", token=TOKEN, api_path=".rest")
    assert (explicit.host, explicit.api_path) == (HOST, ".rest")  # an explicit api_path wins


@pytest.mark.parametrize(
    ("given", "port", "expected"),
    [
        ("app.pseven.io", None, ("https://app.pseven.io", None)),
        ("  app.pseven.io/  ", None, ("https://app.pseven.io", None)),
        ("127.0.0.1", 8765, ("https://127.0.0.1:8765", None)),
        ("http://127.0.0.1:8765/", None, ("http://127.0.0.1:8765", None)),
        ("http://127.0.0.1:8765", 9999, ("http://127.0.0.1:8765", None)),  # the URL's own port wins
        ("localhost:8765", None, ("https://localhost:8765", None)),
        ("https://app.pseven.io/", None, ("https://app.pseven.io", None)),
        ("https://h.example/prefix/", None, ("https://h.example/prefix", None)),
        ("https://h.example/pseven/.rest/v2/", None, ("https://h.example", ".rest")),
        ("https://h.example/pseven/@rest/v2", None, ("https://h.example", "@rest")),
        ("https://h.example/appshub/.rest/v2/", None, ("https://h.example", ".rest")),
        ("https://h.example/pseven/.rest/", None, ("https://h.example", ".rest")),
    ],
)
def test_normalize_sign_in_url(given: str, port: int | None, expected: tuple[str, str | None]) -> None:
    assert normalize_sign_in_url(given, port) == expected
