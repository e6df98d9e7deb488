"""The JSON the pSeven REST API answers with, as the guide prints it, for any server address.

``ApiJson(host)`` builds workflow, app and run objects whose URLs point at ``host``; parameters and
results (``param_json``) do not depend on the host. The ids are the guide's.
"""

from __future__ import annotations

from typing import Any

WF_ID = "130d943e100e46e0b5da490ac005b70e"
WF2_ID = "230d943e100e46e0b5da490ac005b70f"
APP_ID = "c53461be10b84975a4a6ecb755cfbe00"
RUN_ID = "ea51478af1c94fcea879d1bdd63faadc"
RUN2_ID = "fb62589bf2da5fdfb98ae2eee74fbbed"
P1_ID = "fd10fa8bafb642f29ca89542504970ae"
P2_ID = "db4bc72e7a594ba9b0a7009d95013648"
SECRET_ID = "ba7236e82c9b17f242a91ec87d2a5e2d"


def param_json(
    pid: str, name: str, data: Any, vtype: str | None = None, *, labels: Any = None
) -> dict[str, Any]:
    """A parameter or result; ``vtype`` adds the per-value type some servers send beside ``data``."""
    value: dict[str, Any] = {"data": data}
    if vtype:
        value["type"] = vtype
    return {"id": pid, "name": name, "value": value, "labels": labels if labels is not None else {}}


class ApiJson:
    """Builders of the API's JSON for the server at ``host``."""

    def __init__(
        self,
        host: str,
        *,
        run_url: str = "{pseven}workflows/{workflow_id}/runs/{run_id}/",
        app_url: str = "{appshub}apps/{app_id}@{version}/",
    ) -> None:
        self.host = host
        self.pseven = f"{host}/pseven/.rest/v2/"
        self.appshub = f"{host}/appshub/.rest/v2/"
        self._run_url = run_url
        self._app_url = app_url

    def workflow(
        self, wid: str = WF_ID, name: str = "ToyWorkflow", path: str | None = None
    ) -> dict[str, Any]:
        path = path or f"/Users/1/{name}.p7wf"
        return {"id": wid, "name": name, "path": path, "url": f"{self.pseven}workflows/{wid}/"}

    def app(
        self, aid: str = APP_ID, name: str = "Toy app", version: int = 1, state: str = "READY"
    ) -> dict[str, Any]:
        url = self._app_url.format(host=self.host, appshub=self.appshub, app_id=aid, version=version)
        return {
            "id": aid,
            "name": name,
            "path": f"/Apps/{name}.p7wf",
            "url": url,
            "version": version,
            "revision": 0,
            "state": state,
            "workspace": {"id": "7", "name": "Toy apps"},
        }

    def run(
        self,
        state: str = "CONFIGURATION",
        *,
        run_id: str = RUN_ID,
        name: str = "run-1",
        parameters: list[dict[str, Any]] | None = None,
        results: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        url = self._run_url.format(host=self.host, pseven=self.pseven, workflow_id=WF_ID, run_id=run_id)
        return {
            "id": run_id,
            "name": name,
            "path": f"/Users/1/ToyWorkflow.p7wf/@Runs/{name}.p7run",
            "url": url,
            "state": state,
            "workflow": "/Users/1/ToyWorkflow.p7wf",
            "parameters": parameters if parameters is not None else [],
            "results": results if results is not None else [],
        }
