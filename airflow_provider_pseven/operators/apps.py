"""Publishing a workflow as an AppsHub app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pseven.client import (
    AppState,
    PsevenNotFoundError,
    PsevenRequestMayHaveSucceeded,
)
from airflow_provider_pseven.compat import AirflowException
from airflow_provider_pseven.operators.base import PsevenBaseOperator, TaskStateMemory, WaitingMixin

if TYPE_CHECKING:
    from airflow_provider_pseven.client import AppPublication

APP_KEY = "pseven_published_app"


class PublishAppOperator(WaitingMixin, PsevenBaseOperator):
    """Publish a workflow to AppsHub and wait until the new version is READY (deployable).

    A retry of a failed try does not publish again: it waits for the version that try published
    (recorded in the task state store). A successful try forgets it, so clearing the task publishes
    again.

    :param workflow: workflow id, storage path or unique name.
    :param name: app name; an existing name adds a version (or a revision, with ``version``).
    :return: ``{"app_id", "version", "revision", "url", "state"}``.
    """

    returns_mapping = True

    template_fields: Sequence[str] = (
        "pseven_conn_id",
        "workflow",
        "name",
        "workspace_name",
        "workspace_id",
        "description",
        "version",
        "thumbnail",
    )

    def __init__(
        self,
        *,
        workflow: str,
        name: str,
        workspace_name: str | None = None,
        workspace_id: str | None = None,
        description: str | None = None,
        version: int | None = None,
        set_version_as_default: bool | None = None,
        allow_get_as_workflow: bool | None = None,
        thumbnail: str | None = None,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = 1800.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if workspace_name is None and workspace_id is None:
            raise ValueError("Give workspace_name or workspace_id: the workspace that hosts the app")
        self.workflow = workflow
        self.name = name
        self.workspace_name = workspace_name
        self.workspace_id = workspace_id
        self.description = description
        self.version = version
        self.set_version_as_default = set_version_as_default
        self.allow_get_as_workflow = allow_get_as_workflow
        self.thumbnail = thumbnail
        self.init_waiting(deferrable, poll_interval, timeout, interrupt_on_timeout=False)

    def execute(self, context: Any) -> Any:
        client = self.hook.client
        memory = TaskStateMemory(context, APP_KEY)
        earlier = self._earlier_version(memory.get())
        if earlier is not None:
            app_id, version = earlier
        else:
            workflow = client.resolve_workflow(str(self.workflow))
            try:
                app = client.publish_app(self._publication(workflow.path))
            except PsevenRequestMayHaveSucceeded as error:
                raise PsevenRequestMayHaveSucceeded(
                    error.method,
                    error.path,
                    f"{error.reason}; check AppsHub for app {self.name!r} before retrying, a retry publishes again",
                ) from None
            app_id, version = app.id, app.version
            self.log.info(
                "Published %s as app %s version %s: %s", workflow.path, app_id, version, app.state_text
            )
            memory.set({"app_id": app_id, "version": version})
        from airflow_provider_pseven.triggers.app_ready import AppReadyTrigger

        trigger = AppReadyTrigger(
            self.pseven_conn_id,
            app_id,
            version,
            deadline=self.deadline(),
            poll_interval=self.poll_interval or 5.0,
        )
        return self._finish(context, self.wait(trigger, "execute_complete"))

    def _publication(self, workflow_path: str) -> AppPublication:
        from airflow_provider_pseven.client import AppPublication

        return AppPublication(
            workflow_path,
            str(self.name),
            workspace_name=self.workspace_name,
            workspace_id=self.workspace_id,
            description=self.description,
            version=int(self.version) if self.version not in (None, "") else None,
            set_version_as_default=self.set_version_as_default,
            allow_get_as_workflow=self.allow_get_as_workflow,
            thumbnail=self.thumbnail,
        )

    def _earlier_version(self, recorded: Any) -> tuple[str, int | None] | None:
        """The app version an earlier, failed try of this task published, if it is still usable.

        A successful try forgets it, so clearing the task publishes again.
        """
        if not (isinstance(recorded, dict) and recorded.get("app_id")):
            return None
        app_id, version = str(recorded["app_id"]), recorded.get("version")
        try:
            app = self.hook.client.get_app(app_id, version if isinstance(version, int) else None)
        except PsevenNotFoundError:
            self.log.info(
                "App %s version %s, published by an earlier try, is gone; publishing anew", app_id, version
            )
            return None
        if app.state is AppState.FAILED:
            self.log.info(
                "App %s version %s, published by an earlier try, FAILED; publishing anew", app_id, version
            )
            return None
        self.log.info(
            "App %s version %s was published by an earlier try; not publishing again", app_id, version
        )
        return app_id, app.version if app.version is not None else version

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        return self._finish(context, self.result_from_event(event))

    def _finish(self, context: Any, result: Any) -> dict[str, Any]:
        if result.status != "success":
            raise AirflowException(f"pSeven {result.message or 'app publishing did not complete'}")
        self.log.info(
            "App %s version %s is READY", result.payload.get("app_id"), result.payload.get("version")
        )
        TaskStateMemory(context, APP_KEY).forget()
        return dict(result.payload)


__all__ = ["PublishAppOperator"]
