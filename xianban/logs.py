"""Structured logging to stderr (stdout belongs to JSON/JSONL output), secrets redacted.

Any event field whose name looks like a credential is replaced before rendering, and
URLs have their password part dropped, so a cookie, token or DSN never reaches a log.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import structlog

from xianban.clock import iso

SECRET_KEYS = re.compile(r"(pass(word)?|secret|token|cookie|authorization|api[_-]?key)", re.I)
URL_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]+@")


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if SECRET_KEYS.search(key):
            event[key] = "***"
        elif isinstance(value, str) and "://" in value:
            event[key] = URL_PASSWORD.sub(r"\1:***@", value)
    return event


def shenzhen_time(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``timestamp`` in Asia/Shanghai with the offset, the clock every CLI output shows."""
    event["timestamp"] = iso(datetime.now(UTC))
    return event


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was set up:
    test runners and embedding programs swap and close the stream they were given."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog once per process; JSON when stderr is not a terminal."""
    as_json = not sys.stderr.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            shenzhen_time,
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
