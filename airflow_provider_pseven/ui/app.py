"""The FastAPI app the plugin mounts in Airflow's API server (under ``/pseven``).

Every route that shows or changes anything of a task instance depends on Airflow's own security
dependency (``requires_access_dag``): reading needs GET on the DAG's task instances, interrupting
needs PUT, as Airflow's own task instance calls. Data go out as JSON that the page renders with
``textContent``; files stream through (``streaming.py``).
"""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import Annotated, Any, NamedTuple
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from airflow_provider_pseven.client import PsevenClient, PsevenError, RunRef
from airflow_provider_pseven.client.errors import PsevenNotFoundError
from airflow_provider_pseven.client.operations import get_run, interrupt_run
from airflow_provider_pseven.client.run_files import list_files
from airflow_provider_pseven.links import tab_path
from airflow_provider_pseven.ui import views
from airflow_provider_pseven.ui.cache import TtlCache
from airflow_provider_pseven.ui.clients import Clients
from airflow_provider_pseven.ui.files import SAFE_HEADERS, checked_path, file_headers
from airflow_provider_pseven.ui.records import TaskInstanceId, read_dag_run, read_summaries, recorded_run
from airflow_provider_pseven.ui.streaming import first_chunk_then_rest

#: How often an open tab refreshes a run that has not ended, and how long answers are reused.
REFRESH_SECONDS = 5.0
PAGE_CACHE_SECONDS = 3.0

CanRead = Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.TASK_INSTANCE))
CanEdit = Depends(requires_access_dag(method="PUT", access_entity=DagAccessEntity.TASK_INSTANCE))
CanReadRun = Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN))
TI_PATH = "/{dag_id}/{run_id}/{task_id}/{map_index}"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}


class Page(NamedTuple):
    """What one page fills into the shared shell (the fields are its ``{{...}}`` names)."""

    TITLE: str
    SCRIPT: str
    LOADING: str


#: The run tab (one task instance) and the DAG run's page (all its pSeven runs).
TAB_PAGE = Page("pSeven run", "tab.js", "Loading the pSeven run…")
DAG_RUN_PAGE = Page("pSeven runs", "dagrun.js", "Loading the pSeven runs of this DAG run…")
#: A ``{{NAME}}`` of the shell; all are filled in one pass, so no value is read as a name.
_FILL = re.compile(r"\{\{([A-Z]+)\}\}")


def _static(name: str) -> str:
    return resources.files("airflow_provider_pseven.ui").joinpath("static", name).read_text("utf-8")


def _page(request: Request, page: Page, api: str) -> HTMLResponse:
    """``page`` in the one HTML shell (static/page.html) the pages share: its title, its script and
    the line shown while that script loads, with ``api`` the address the script reads its data from."""
    root = request.scope.get("root_path", "")
    fills = {"ROOT": root, "API": root + api, **page._asdict()}
    body = _FILL.sub(lambda m: html.escape(fills[m[1]], quote=True), _static("page.html"))
    return HTMLResponse(body, headers=PAGE_HEADERS)


def _forbidden_page(request: Request, exc: HTTPException) -> Response:
    """A page (not JSON) for a person who opened the tab without access; JSON for the data routes."""
    path = request.url.path[len(request.scope.get("root_path", "")) :]
    if path.startswith("/api/") or exc.status_code not in (401, 403):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    words = (
        "You are not signed in to Airflow."
        if exc.status_code == 401
        else "You do not have access to this DAG's task instances, so its pSeven run is not shown."
    )
    body = _static("denied.html").replace("{{MESSAGE}}", html.escape(words))
    return HTMLResponse(body, status_code=exc.status_code, headers=PAGE_HEADERS)


def _parts(*values: str) -> str:
    return "/".join(quote(v, safe="") for v in values)


def create_app(clients: Clients | None = None) -> FastAPI:
    """The app; ``clients`` gives a :class:`PsevenClient` per connection id (tests pass their own)."""
    client_for = clients or Clients()
    pages: TtlCache[dict[str, Any]] = TtlCache(PAGE_CACHE_SECONDS)
    follows: TtlCache[dict[str, Any]] = TtlCache(REFRESH_SECONDS)
    lists: TtlCache[dict[str, str]] = TtlCache(REFRESH_SECONDS)
    app = FastAPI(title="pSeven run", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(HTTPException, _forbidden_page)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(packages=[("airflow_provider_pseven.ui", "static")]), name="static")

    def recorded(session: Any, dag_id: str, run_id: str, task_id: str, map_index: str) -> Any:
        ti = TaskInstanceId(dag_id, run_id, task_id, _map_index(map_index))
        return recorded_run(read_summaries(session, ti))

    def cached(cache: TtlCache[dict[str, Any]], what: str, rec: Any, fetch: Any) -> dict[str, Any]:
        key = (what, rec.conn_id, rec.ref, rec.secrets) if rec is not None else (what, None)
        return cache.get(key, lambda: views.guarded(rec, fetch, client_for))

    @app.get("/ti" + TI_PATH, response_class=HTMLResponse, dependencies=[CanRead])
    def tab(request: Request, dag_id: str, run_id: str, task_id: str, map_index: str) -> HTMLResponse:
        return _page(
            request, TAB_PAGE, "/api/ti/" + _parts(dag_id, run_id, task_id, str(_map_index(map_index)))
        )

    @app.get("/api/ti" + TI_PATH, dependencies=[CanRead])
    def run_data(session: SessionDep, dag_id: str, run_id: str, task_id: str, map_index: str) -> JSONResponse:
        rec = recorded(session, dag_id, run_id, task_id, map_index)
        data = cached(
            pages, "page", rec, lambda c, ref: c.run(views.page_op(ref, rec.secrets if rec else ()))
        )
        return JSONResponse({**data, "refresh_seconds": REFRESH_SECONDS}, headers=SAFE_HEADERS)

    @app.get("/api/ti" + TI_PATH + "/state", dependencies=[CanRead])
    def run_state(
        session: SessionDep, dag_id: str, run_id: str, task_id: str, map_index: str
    ) -> JSONResponse:
        """The run's state from its runs list: one list request per workflow and refresh, for all tabs."""
        rec = recorded(session, dag_id, run_id, task_id, map_index)

        def state(client: PsevenClient, ref: RunRef) -> dict[str, Any]:
            key = (rec.conn_id, ref.kind, ref.parent_id)
            states = lists.get(key, lambda: client.run(views.states_op(ref)))
            if ref.run_id not in states:  # a list may leave it out: its own GET (404: deleted)
                return {"state": client.run(get_run(ref)).state_text}
            return {"state": states[ref.run_id]}

        return JSONResponse(views.guarded(rec, state, client_for), headers=SAFE_HEADERS)

    @app.get("/api/ti" + TI_PATH + "/log", dependencies=[CanRead])
    def run_log(session: SessionDep, dag_id: str, run_id: str, task_id: str, map_index: str) -> JSONResponse:
        rec = recorded(session, dag_id, run_id, task_id, map_index)
        data = cached(follows, "log", rec, lambda c, ref: c.run(views.log_op(ref)))
        return JSONResponse(data, headers=SAFE_HEADERS)

    @app.get("/api/ti" + TI_PATH + "/files", dependencies=[CanRead])
    def run_folder(
        session: SessionDep, dag_id: str, run_id: str, task_id: str, map_index: str, path: str = Query(...)
    ) -> JSONResponse:
        folder = _checked(path)
        rec = recorded(session, dag_id, run_id, task_id, map_index)
        fetch = lambda c, ref: {"entries": views.file_rows(c.run(list_files(ref, folder)))}  # noqa: E731
        return JSONResponse(cached(pages, "ls:" + folder, rec, fetch), headers=SAFE_HEADERS)

    @app.get("/api/ti" + TI_PATH + "/download", dependencies=[CanRead])
    def run_file(
        session: SessionDep,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: str,
        path: str = Query(...),
        inline: bool = False,
    ) -> Response:
        file = _checked(path)
        rec = recorded(session, dag_id, run_id, task_id, map_index)
        if rec is None:
            raise HTTPException(404, "This task instance recorded no pSeven run")
        try:
            body = first_chunk_then_rest(client_for(rec.conn_id), rec.ref, file)
        except LookupError as error:
            raise HTTPException(404, str(error)) from None
        except PsevenNotFoundError:
            raise HTTPException(
                404, f"{file!r} is not in the run directory (or the run was deleted)"
            ) from None
        except PsevenError as error:
            raise HTTPException(502, str(error)) from None
        media_type, headers = file_headers(file, inline)
        return StreamingResponse(body, media_type=media_type, headers=headers)

    @app.post("/api/ti" + TI_PATH + "/interrupt", dependencies=[CanEdit])
    def interrupt(
        session: SessionDep,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: str,
        x_requested_by: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Interrupt the run. POST only, with edit permission, and with a header a form or a link
        cannot send (another site's page cannot make a browser send it without CORS consent)."""
        if x_requested_by != "pseven-ui":
            raise HTTPException(400, "send the X-Requested-By: pseven-ui header")
        rec = recorded(session, dag_id, run_id, task_id, map_index)

        def stop(client: PsevenClient, ref: RunRef) -> dict[str, Any]:
            client.run(interrupt_run(ref))
            pages.clear()
            follows.clear()
            return {"message": f"Asked pSeven to interrupt run {ref.run_id}"}

        return JSONResponse(views.guarded(rec, stop, client_for), headers=SAFE_HEADERS)

    @app.get("/dagrun/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[CanReadRun])
    def dag_run_page(request: Request, dag_id: str, run_id: str) -> HTMLResponse:
        return _page(request, DAG_RUN_PAGE, "/api/dagrun/" + _parts(dag_id, run_id))

    @app.get("/api/dagrun/{dag_id}/{run_id}", dependencies=[CanReadRun, CanRead])
    def dag_run_data(session: SessionDep, dag_id: str, run_id: str) -> JSONResponse:
        """The DAG run's pSeven runs, as their tasks recorded them (no pSeven request)."""
        rows = [
            {
                "task_id": ti.task_id,
                "map_index": ti.map_index,
                "tab": tab_path(dag_id, run_id, ti.task_id, ti.map_index),
                **rec.task_view,
            }
            for ti, rec in read_dag_run(session, dag_id, run_id)
        ]
        return JSONResponse({"runs": rows}, headers=SAFE_HEADERS)

    return app


def _map_index(text: str) -> int:
    """The UI fills ``{MAP_INDEX}`` only for a mapped task instance; otherwise it stays as is: -1."""
    try:
        return int(text)
    except ValueError:
        return -1


def _checked(path: str) -> str:
    try:
        return checked_path(path)
    except ValueError as error:
        raise HTTPException(400, f"File path refused: {error}") from None
