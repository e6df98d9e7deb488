"""Operator extra link: a button on the task that opens the "pSeven run" tab of its task instance.

The run's REST URL is JSON behind a token (a browser gets 403), so the link opens the provider's tab
in Airflow's UI instead (``airflow_provider_pseven.ui``); the REST URL stays in the run summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_pseven.client import Run, RunRef

#: The external view's ``url_route``: the tab's path in Airflow's UI ends in ``/plugin/<this>``.
TAB_ROUTE = "pseven-run"
#: XCom key of the address the tab reads: ``{"workflow_id" | "app_id", "run_id", "conn_id", ...}``.
ADDRESS_KEY = "pseven_ui_run"


def tab_path(dag_id: str, run_id: str, task_id: str, map_index: int | None = -1) -> str:
    """The tab's path in Airflow's UI (as the UI builds task instance paths, mapped ones included)."""
    mapped = f"/mapped/{map_index}" if map_index is not None and map_index >= 0 else ""
    parts = (quote(str(p), safe="") for p in (dag_id, run_id, task_id))
    return "/dags/{}/runs/{}/tasks/{}".format(*parts) + f"{mapped}/plugin/{TAB_ROUTE}"


def _ui_base() -> str:
    """Airflow's public base URL (``[api] base_url``), "" when unset: the link is then relative."""
    from airflow_provider_pseven.compat import conf

    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/")


class PsevenRunLink(BaseOperatorLink):
    """``pSeven run``: the task instance's "pSeven run" tab, pushed to XCom with the run's address."""

    name = "pSeven run"

    @classmethod
    def persist(
        cls, context: Any, url: str | None, ref: RunRef | None = None, run: Run | None = None
    ) -> None:
        """Record the tab link and, with ``ref``, the address the tab reads (no secrets: ids only)."""
        ti = context["ti"]
        if ref is not None:
            task = context.get("task")
            address: dict[str, Any] = {
                **ref.as_dict(),
                "conn_id": getattr(task, "pseven_conn_id", None) or "pseven_default",
                "url": url or "",
                # names only: the tab shows these parameters as "set" / "unset"
                "secret_parameters": [str(n) for n in getattr(task, "secret_parameters", ()) or ()],
            }
            if run is not None:
                address.update(name=run.name, path=run.path, state=run.state_text)
            ti.xcom_push(key=ADDRESS_KEY, value=address)
        if url or ref is not None:
            path = tab_path(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1))
            ti.xcom_push(key=cls().xcom_key, value=_ui_base() + path)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.bases.xcom import BaseXCom

        value = BaseXCom.get_value(ti_key=ti_key, key=self.xcom_key)  # type: ignore[arg-type]
        return str(value) if value else ""
