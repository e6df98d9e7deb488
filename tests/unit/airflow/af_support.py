"""Shared pieces of the Airflow-surface unit tests: ids, JSON builders, fakes of the task context,
a fake clock, and a small stateful fake of one pSeven run served through requests-mock.

The module has a unique name (no ``__init__.py`` here): test modules import it as ``af_support``.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests_mock
from urllib3.exceptions import ProtocolError

from tests.support.api_json import APP_ID, P1_ID, P2_ID, RUN_ID, SECRET_ID, WF_ID, ApiJson
from tests.support.api_json import param_json as _param_json
from tests.support.clock import FakeClock

HOST = "http://p7.test"
TOKEN = "tok-SECRET-1"
SECRET_VALUE = "SECRET-VALUE-xyz"
PSEVEN = f"{HOST}/pseven/.rest/v2/"
APPSHUB = f"{HOST}/appshub/.rest/v2/"
CONN = {"conn_type": "pseven", "host": HOST, "password": TOKEN, "extra": {"api_path": ".rest"}}

# The name DeployRunOperator gives a run of FakeTI() by default.
#: The token of default run names is random; the unit tests fix it (see conftest.py).
RUN_NAME_TOKEN = "abc123"
DEFAULT_RUN_NAME = f"airflow dag_1 manual__2026-01-01T00_00_00+00_00 task_1 t1-{RUN_NAME_TOKEN}"


def runs_url(kind: str = "workflow", parent_id: str = WF_ID) -> str:
    base = PSEVEN if kind == "workflow" else APPSHUB
    collection = "workflows" if kind == "workflow" else "apps"
    return f"{base}{collection}/{parent_id}/runs/"


def run_url(kind: str = "workflow", parent_id: str = WF_ID, run_id: str = RUN_ID) -> str:
    return f"{runs_url(kind, parent_id)}{run_id}/"


RUN_URL = run_url()
RUNS_URL = runs_url()


#: This suite's server: run and app URLs in the short form its tests assert on.
API = ApiJson(HOST, run_url="{host}/pseven/runs/{run_id}", app_url="{host}/appshub/app/{app_id}@{version}")


def param_json(pid: str, name: str, data: Any, vtype: str) -> dict[str, Any]:
    return _param_json(pid, name, data, vtype)


def default_parameters() -> list[dict[str, Any]]:
    """A String, a Real and an unset Secret (GET shows an unset Secret as null)."""
    return [
        param_json(P1_ID, "label", "old", "String"),
        param_json(P2_ID, "x", 1.0, "Real"),
        param_json(SECRET_ID, "password", None, "Secret"),
    ]


run_json = API.run
workflow_json = API.workflow


def app_json(version: int = 3, state: str = "READY", aid: str = APP_ID) -> dict[str, Any]:
    return API.app(aid, version=version, state=state)


# --- the task context -------------------------------------------------------------------------


class FakeTI:
    """What the operators read of a task instance, and the XComs they push."""

    def __init__(
        self,
        dag_id: str = "dag_1",
        run_id: str = "manual__2026-01-01T00:00:00+00:00",
        task_id: str = "task_1",
        map_index: int = -1,
        try_number: int = 1,
        max_tries: int = 0,
    ) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.task_id = task_id
        self.map_index = map_index
        #: Airflow's counters: another try follows a failure while ``try_number <= max_tries``.
        self.try_number = try_number
        self.max_tries = max_tries
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class FakeStore:
    """The task state store: survives between tries of one task instance."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = dict(data or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def make_context(store: FakeStore | None = None, ti: FakeTI | None = None) -> dict[str, Any]:
    return {"ti": ti or FakeTI(), "task_state_store": store if store is not None else FakeStore()}


def std_log(task: Any, name: str = "af_test") -> Any:
    """Send an operator's (or trigger's) log to stdlib logging, where ``caplog`` sees it."""
    logger = logging.getLogger(f"{name}.{getattr(task, 'task_id', type(task).__name__)}")
    task._cached_logger = logger  # operators (the Task SDK's DAG node)
    task._log = logger  # triggers (LoggingMixin)
    return task


# --- time -------------------------------------------------------------------------------------


def polls(clock: FakeClock, interval: float) -> int:
    """How many poll pauses the clock saw; each must be positive and at most ``interval`` (a wait
    may align its ticks to a phase, so a pause can be shorter than the interval)."""
    assert all(0 < s <= interval for s in clock.sleeps), clock.sleeps
    return len(clock.sleeps)


# --- a stateful fake run over requests-mock ----------------------------------------------------


class _BrokenReader(io.RawIOBase):
    """A socket that delivers some bytes and then breaks (as urllib3 sees it)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._data:
            count = min(len(buffer), len(self._data))
            buffer[:count] = self._data[:count]
            self._data = self._data[count:]
            return count
        raise ProtocolError("Connection broken: IncompleteRead")


class FakeRun:
    """One run of the fake server. ``states`` are served in turn: each time the client sleeps (a poll
    interval) the run moves to the next one, and the last one stays. Start, interrupt and delete
    change the state as the guide says; a deleted run answers 404.
    """

    def __init__(
        self,
        mocker: requests_mock.Mocker,
        *states: str,
        clock: FakeClock | None = None,
        kind: str = "workflow",
        parent_id: str = WF_ID,
        run_id: str = RUN_ID,
        name: str = "run-1",
        parameters: list[dict[str, Any]] | None = None,
        results: list[dict[str, Any]] | None = None,
        on_start: tuple[str, ...] = ("QUEUED_TO_RUN", "RUNNING", "FINISHED"),
        files: dict[str, bytes] | None = None,
        listing: dict[str, list[dict[str, Any]]] | None = None,
        broken_downloads: tuple[str, ...] = (),
    ) -> None:
        self.states = list(states or ("CONFIGURATION",))
        self.kind = kind
        self.run_id = run_id
        self.name = name
        self.parameters = parameters if parameters is not None else default_parameters()
        self.results = results if results is not None else []
        self.secret_values: dict[str, Any] = {}
        self.on_start = list(on_start)
        self.files = dict(files or {})
        self.listing = listing
        self.broken_downloads = broken_downloads
        self.gone = False
        self.url = run_url(kind, parent_id, run_id)
        if clock is not None:
            clock.on_sleep.append(self.advance)
        mocker.get(self.url, json=self._get)
        mocker.patch(self.url, json=self._patch)
        mocker.delete(self.url, text=self._delete)
        mocker.post(self.url + "run/", json=self._start)
        mocker.post(self.url + "interrupt/", json=self._interrupt)
        mocker.get(self.url + "ls/", json=self._ls)
        mocker.get(self.url + "download/", content=self._download_content)
        self.mocker = mocker

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.states[0]

    def set_states(self, *states: str) -> None:
        self.states = list(states)

    def advance(self) -> None:
        if len(self.states) > 1:
            self.states.pop(0)

    def as_json(self) -> dict[str, Any]:
        shown = []
        for parameter in self.parameters:
            item = json.loads(json.dumps(parameter))
            if item["value"].get("type") == "Secret" and item["value"].get("data") is not None:
                item["value"]["data"] = ""
            shown.append(item)
        return run_json(
            self.state, run_id=self.run_id, name=self.name, parameters=shown, results=self.results
        )

    # -- answers -------------------------------------------------------------------------------

    def _not_found(self, context: Any) -> dict[str, Any]:
        context.status_code = 404
        return {"detail": "Not found."}

    def _get(self, request: Any, context: Any) -> Any:
        if self.gone:
            return self._not_found(context)
        return self.as_json()

    def _patch(self, request: Any, context: Any) -> Any:
        if self.gone:
            return self._not_found(context)
        body = request.json()
        by_id = {p["id"]: p for p in self.parameters}
        for item in body.get("parameters", []):
            stored = by_id[item["id"]]
            data = item["value"]["data"]
            if stored["value"].get("type") == "Secret":
                self.secret_values[item["id"]] = data
            stored["value"]["data"] = data
        return self.as_json()

    def _delete(self, request: Any, context: Any) -> str:
        if self.gone:
            context.status_code = 404
            return '{"detail": "Not found."}'
        if self.state not in ("CONFIGURATION", "FINISHED", "FAILED", "INTERRUPTED"):
            context.status_code = 400
            return json.dumps({"detail": f"Cannot delete a run in state {self.state}"})
        self.gone = True
        context.status_code = 204
        return ""

    def _start(self, request: Any, context: Any) -> Any:
        if self.state != "CONFIGURATION":
            context.status_code = 400
            return {"detail": f"Run is {self.state}, not CONFIGURATION"}
        self.states = list(self.on_start)
        return {}

    def _interrupt(self, request: Any, context: Any) -> Any:
        if self.state not in ("QUEUED_TO_RUN", "RUNNING"):
            context.status_code = 400
            return {"detail": f"Run is {self.state}, not RUNNING"}
        self.states = ["INTERRUPTED"]
        return {}

    def _children(self, directory: str) -> list[dict[str, Any]]:
        if self.listing is not None:
            return self.listing.get(directory, [])
        entries: dict[str, dict[str, Any]] = {}
        prefix = f"{directory}/" if directory else ""
        for path, data in self.files.items():
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            head, _, tail = rest.partition("/")
            if tail:
                entries[head] = {"name": head, "size": 0, "is_dir": True}
            else:
                entries[head] = {
                    "name": head,
                    "size": len(data),
                    "is_dir": False,
                    "modified": "2026-01-01T00:00:00Z",
                }
        return sorted(entries.values(), key=lambda e: e["name"])

    def _ls(self, request: Any, context: Any) -> Any:
        query = dict(parse_qsl(urlsplit(request.url).query))
        return {"entries": self._children(query.get("directory", "").strip("/"))}

    def _download_content(self, request: Any, context: Any) -> bytes:
        query = dict(parse_qsl(urlsplit(request.url).query))
        name = query.get("file", "")
        if name not in self.files:
            context.status_code = 404
            context.headers["Content-Type"] = "application/json"
            return b'{"detail": "No such file."}'
        return self.files[name]


def broken_download(mocker: requests_mock.Mocker, url: str, data: bytes) -> None:
    """Every GET of ``url`` sends part of ``data`` and then breaks off."""

    def matcher(request: Any) -> Any:
        if not request.url.startswith(url):
            return None
        return requests_mock.create_response(request, status_code=200, body=_BrokenReader(data))

    mocker.add_matcher(matcher)


def sent(mocker: requests_mock.Mocker, method: str, url_prefix: str = "") -> list[Any]:
    """The requests of ``method`` whose URL starts with ``url_prefix``."""
    return [r for r in mocker.request_history if r.method == method and r.url.startswith(url_prefix)]


def sent_to(mocker: requests_mock.Mocker, method: str, url: str) -> list[Any]:
    """The requests of ``method`` to exactly ``url`` (query string ignored)."""
    return [r for r in mocker.request_history if r.method == method and r.url.split("?", 1)[0] == url]


def import_string(path: str) -> Any:
    """A class by its dotted path, as the triggerer loads a trigger from its ``serialize()``."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)
