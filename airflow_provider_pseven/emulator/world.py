"""The emulated pSeven world: the one object the API asks, and the tests inspect.

``World`` is its state (world_state.py: users, workspaces, workflows, runs, apps, timing,
variants, the lock and the record of events) with its three jobs, one module each:
deployment.py (where a new run goes and what it is named), run_lifecycle.py (the guide's run
state machine, parameters and messaging) and appshub.py (publishing and app versions).

The names tests and users import from here (``Timing``, ``User``, ``Workspace``, the defaults)
keep working; they live in records.py. The guide's states are in states.py.
"""

from __future__ import annotations

from .appshub import AppsHub
from .deployment import Deployment
from .records import (
    DEFAULT_PASSWORD,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    LOG_FILE,
    AppRecord,
    AppVersionRecord,
    PortRecord,
    RunRecord,
    Timing,
    User,
    Workspace,
)
from .run_lifecycle import RunLifecycle
from .workflows import Workflow
from .world_state import TOY_APP_ID, TRASH

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "LOG_FILE",
    "TOY_APP_ID",
    "TRASH",
    "AppRecord",
    "AppVersionRecord",
    "PortRecord",
    "RunRecord",
    "Timing",
    "User",
    "Workflow",
    "Workspace",
    "World",
]


class World(Deployment, RunLifecycle, AppsHub):
    """All emulator state of one server instance (``EmulatorServer.world``), plus a record of events
    for tests: ``runs``, ``apps``, ``workflows``, ``timing``, ``variants``, ``lock``, ``events``,
    ``deploy_count()``, ``start_count()``, ``event_count()``."""
