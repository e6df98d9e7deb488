"""The provider's Airflow plugin: the "pSeven run" tab on every task instance page and a "pSeven
runs" view on every DAG run page, served by a FastAPI app mounted in the API server at ``/pseven``.

Airflow imports plugins in every component, so this module imports neither FastAPI nor the app:
the app is built when the API server first sends it a request (:class:`LazyApp`).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_pseven.links import TAB_ROUTE

URL_PREFIX = "/pseven"


class LazyApp:
    """An ASGI app that builds :func:`airflow_provider_pseven.ui.app.create_app` on first use."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_pseven.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class PsevenUiPlugin(AirflowPlugin):
    name = "pseven_ui"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "pSeven run"}]
    external_views = [
        {
            "name": "pSeven run",
            "href": URL_PREFIX + "/ti/{DAG_ID}/{RUN_ID}/{TASK_ID}/{MAP_INDEX}",
            "destination": "task_instance",
            "url_route": TAB_ROUTE,
        },
        {
            "name": "pSeven runs",
            "href": URL_PREFIX + "/dagrun/{DAG_ID}/{RUN_ID}",
            "destination": "dag_run",
            "url_route": TAB_ROUTE + "s",
        },
    ]
