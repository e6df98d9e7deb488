"""Recognisable credentials and Secret values used across the whole integration and e2e suite.

Every emulator started through the pytest fixtures gets ``SWEEP_TOKEN`` as its token (unless a test
brings its own users), and the DAGs' Secret parameters get ``SWEEP_SECRET`` (unless a test sets
its own). After each integration or e2e test its captured output and log records are searched
for them, and at the end of the run every stored XCom, rendered field and task log file of the
session (tests/suite_sweep.py, from tests/conftest.py).
"""

from __future__ import annotations

SWEEP_TOKEN = "tok-SUITE-SWEEP-3e9b1f0c"
SWEEP_SECRET = "secret-SUITE-SWEEP-71ac2d5e"
SWEEP_VALUES = (SWEEP_TOKEN, SWEEP_SECRET)


def leaks(text: str) -> list[str]:
    """The sweep values found in ``text``."""
    return [value for value in SWEEP_VALUES if value in text]
