"""Operator extra link: a button on the task that opens the pSeven run it worked on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class PsevenRunLink(BaseOperatorLink):
    """``pSeven run``: the run's URL, pushed to XCom by the operator that addressed the run."""

    name = "pSeven run"

    @classmethod
    def persist(cls, context: Any, url: str | None) -> None:
        if url:
            context["ti"].xcom_push(key=cls().xcom_key, value=url)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.bases.xcom import BaseXCom

        value = BaseXCom.get_value(ti_key=ti_key, key=self.xcom_key)  # type: ignore[arg-type]
        return str(value) if value else ""
