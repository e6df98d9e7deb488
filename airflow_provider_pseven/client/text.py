"""Server-given text on its way to messages and log lines: control characters escaped.

A run name, a file name or an error body comes from the server; a newline or an escape sequence in
it would forge log lines or repaint a terminal. Messages and the client's log records show such
characters as escapes (``\\n``, ``\\x1b``) instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator
from typing import Any

#: C0 and C1 control characters and DEL.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """``text`` with every control character as its Python escape (``\\n``, ``\\x1b``)."""
    if not CONTROL.search(text):
        return text
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


#: False where a caller that runs many runs at once (a sweep) reports progress itself: the client's
#: per-run INFO lines would then be thousands of lines and most of the triggerer's CPU.
_PER_RUN_INFO: contextvars.ContextVar[bool] = contextvars.ContextVar("pseven_per_run_info", default=True)


@contextlib.contextmanager
def per_run_info(enabled: bool) -> Iterator[None]:
    """Within this context (this asyncio task, the tasks it starts and its ``to_thread`` calls),
    the client's INFO records are dropped unless ``enabled``; warnings and errors always pass."""
    token = _PER_RUN_INFO.set(enabled)
    try:
        yield
    finally:
        _PER_RUN_INFO.reset(token)


class EscapeControls(logging.Filter):
    """Escapes control characters in the string arguments of every record of a logger, and drops
    its INFO records inside ``per_run_info(False)``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.INFO and not _PER_RUN_INFO.get():
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_escaped(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _escaped(value) for key, value in record.args.items()}
        return True


def _escaped(value: Any) -> Any:
    """A string or an exception (its text may quote the server) escaped; numbers and the rest as is."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, BaseException):
        return escape(str(value))
    return value


def client_logger(name: str = "airflow_provider_pseven.client") -> logging.Logger:
    """The client's logger, with :class:`EscapeControls` on it (once)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, EscapeControls) for f in logger.filters):
        logger.addFilter(EscapeControls())
    return logger


__all__ = ["CONTROL", "EscapeControls", "client_logger", "escape", "per_run_info"]
