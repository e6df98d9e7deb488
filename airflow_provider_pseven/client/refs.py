"""The address of one run (:class:`RunRef`) and the path of a runs list: what every module of the
client that touches a run needs, in a module that imports no endpoint (so refusals, lifecycle and
the drivers can name a run without importing the operations that use it)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote

from airflow_provider_pseven.client.ids import check_id
from airflow_provider_pseven.client.models import RunKind, split_version_pin


class Base(enum.Enum):
    """What a call's path is relative to (:class:`~airflow_provider_pseven.client.calls.Call`):
    here, beside the run addresses built on it, so that naming a run imports no call machinery."""

    PSEVEN = "pseven"  # {sign-in URL}/pseven/{api path}/v2/
    APPSHUB = "appshub"  # {sign-in URL}/appshub/{api path}/v2/
    SITE = "site"  # {sign-in URL}/
    ABSOLUTE = "absolute"  # a full URL given by the server; must stay on the sign-in URL's origin


@dataclass(frozen=True)
class RunRef:
    """Addresses one run: its kind, its workflow or app id, and its run id."""

    kind: RunKind
    parent_id: str
    run_id: str

    def __post_init__(self) -> None:
        for name, value in ((self.kind.id_field, self.parent_id), ("run_id", self.run_id)):
            check_id(name, value)
        if self.kind is RunKind.APP:
            # A run of an app is addressed under its plain id, whichever version it runs.
            object.__setattr__(self, "parent_id", split_version_pin(self.parent_id)[0])

    @classmethod
    def workflow(cls, workflow_id: str, run_id: str) -> RunRef:
        return cls(RunKind.WORKFLOW, workflow_id, run_id)

    @classmethod
    def app(cls, app_id: str, run_id: str) -> RunRef:
        return cls(RunKind.APP, app_id, run_id)

    @property
    def base(self) -> Base:
        return Base.PSEVEN if self.kind is RunKind.WORKFLOW else Base.APPSHUB

    @cached_property
    def runs_path(self) -> str:
        """The path of the runs list this run is in (computed once: a wait reads it every poll)."""
        return runs_path(self.kind, self.parent_id)

    @cached_property
    def _path(self) -> str:
        return f"{self.runs_path}{quote(self.run_id, safe='')}/"

    def path(self, action: str = "") -> str:
        return self._path + action

    def as_dict(self) -> dict[str, str]:
        return {self.kind.id_field: self.parent_id, "run_id": self.run_id}

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> RunRef:
        """The address in a run summary (``{"workflow_id" | "app_id", "run_id", ...}``)."""
        kind = RunKind.APP if "app_id" in summary else RunKind.WORKFLOW
        return cls(kind, str(summary.get(kind.id_field, "")), str(summary.get("run_id", "")))


def runs_path(kind: RunKind, parent_id: str) -> str:
    """``workflows/{id}/runs/`` or ``apps/{id}/runs/``: an app's plain id, as the guide shows."""
    owner = check_id(kind.id_field, parent_id)
    owner = split_version_pin(owner)[0] if kind is RunKind.APP else owner
    return f"{kind.collection}/{quote(owner, safe='')}/runs/"


__all__ = ["RunRef", "runs_path"]
