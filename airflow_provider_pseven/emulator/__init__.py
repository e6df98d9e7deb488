"""A pSeven Enterprise REST API v2 emulator: a real HTTP server, a CLI and a pytest fixture.

Import-light on purpose (a pytest plugin imports this package in every test session): the
server's web stack is imported only when a server is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_pseven.exports import lazy_exports

if TYPE_CHECKING:
    from .faults import FaultConfig, Faults
    from .records import Timing, User, Workspace
    from .reqlog import RequestLog
    from .server import EmulatorProcess, EmulatorServer
    from .variants import PRESETS, Variants
    from .workflows import Param, Result, RunContext, RunInterrupted, Workflow
    from .world import World


__all__ = [
    "PRESETS",
    "EmulatorProcess",
    "EmulatorServer",
    "FaultConfig",
    "Faults",
    "Param",
    "RequestLog",
    "Result",
    "RunContext",
    "RunInterrupted",
    "Timing",
    "User",
    "Variants",
    "Workflow",
    "Workspace",
    "World",
]


__getattr__ = lazy_exports(
    __name__,
    globals(),
    faults=("FaultConfig", "Faults"),
    records=("Timing", "User", "Workspace"),
    reqlog=("RequestLog",),
    server=("EmulatorProcess", "EmulatorServer"),
    variants=("PRESETS", "Variants"),
    workflows=("Param", "Result", "RunContext", "RunInterrupted", "Workflow"),
    world=("World",),
)
