"""The client's logger: control characters escaped, and per-run INFO lines dropped where a caller that
runs many runs at once (a sweep) reports progress itself."""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_provider_pseven.client.text import client_logger, per_run_info


def test_control_characters_in_arguments_are_escaped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="airflow_provider_pseven.client"):
        client_logger().info("Run %s is %s", "r1\n[forged] line", "\x1b[31mRED")
    assert caplog.records[-1].getMessage() == "Run r1\\n[forged] line is \\x1b[31mRED"


def test_per_run_info_off_drops_info_and_keeps_warnings(caplog: pytest.LogCaptureFixture) -> None:
    log = client_logger()
    with caplog.at_level(logging.INFO, logger="airflow_provider_pseven.client"):
        with per_run_info(False):
            log.info("Started run %s", "quiet")
            log.warning("Run %s failed", "loud")
        log.info("Started run %s", "after")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["Run loud failed", "Started run after"]


async def test_per_run_info_is_confined_to_its_own_asyncio_task(caplog: pytest.LogCaptureFixture) -> None:
    """A sweep's trigger quiets its own task (and the tasks it starts); other triggers in the same
    triggerer keep their lines."""
    log = client_logger()
    quiet_may_log = asyncio.Event()

    async def sweep() -> None:
        with per_run_info(False):
            await asyncio.create_task(asyncio.to_thread(log.info, "from the sweep's thread"))
            quiet_may_log.set()
            log.info("from the sweep")

    async def other() -> None:
        await quiet_may_log.wait()
        log.info("from another trigger")

    with caplog.at_level(logging.INFO, logger="airflow_provider_pseven.client"):
        await asyncio.gather(sweep(), other())
    assert [r.getMessage() for r in caplog.records] == ["from another trigger"]
