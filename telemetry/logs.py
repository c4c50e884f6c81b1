"""Logging for every entry point: text by default, one JSON object a line with
``WS_LOG_FORMAT=json`` (python-json-logger), carrying ``station_id`` and ``request_id`` where
known (context variables, set per thread by whoever handles a station or a request).

Secrets stay out by construction: nothing logs them (tests/integration/test_secrets_in_logs.py
reads every line), and in JSON an ``extra=`` field whose name suggests one is dropped, in case a
later call passes a whole object."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

FORMAT_ENV = "WS_LOG_FORMAT"
LogFormat = Literal["text", "json"]

station_id_var: ContextVar[str | None] = ContextVar("station_id", default=None)
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SECRET_NAME = re.compile(r"token|passw|secret|key|cookie|authorization|credential", re.I)
# Fields every JSON line has, in this order; the rest (extra=) follow.
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def bind(*, station_id: str | None = None, request_id: str | None = None) -> None:
    """Set this thread's context fields (None clears one)."""
    station_id_var.set(station_id)
    request_id_var.set(request_id)


@contextmanager
def log_context(*, station_id: str | None = None, request_id: str | None = None) -> Iterator[None]:
    station = station_id_var.set(station_id)
    request = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(request)
        station_id_var.reset(station)


class ContextFilter(logging.Filter):
    """Adds the context fields to every record (a static station id, for a process that is
    one station, unless the thread set one)."""

    def __init__(self, station_id: str | None = None) -> None:
        super().__init__()
        self._station_id = station_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.station_id = station_id_var.get() or self._station_id
        record.request_id = request_id_var.get()
        return True


class SafeJsonFormatter(JsonFormatter):
    """JSON lines without empty context fields or fields named like a secret."""

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        return {
            name: value
            for name, value in log_record.items()
            if not (name in {"station_id", "request_id"} and value is None)
            and not _SECRET_NAME.search(name)
        }


def log_format(environ: dict[str, str] | os._Environ[str] = os.environ) -> LogFormat:
    value = environ.get(FORMAT_ENV, "text").strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"{FORMAT_ENV} must be text or json, not {value!r}")
    return "json" if value == "json" else "text"


def configure(
    *,
    component: str,
    level: str | int = logging.INFO,
    text_format: str = "%(asctime)s %(levelname)s %(message)s",
    station_id: str | None = None,
    fmt: LogFormat | None = None,
) -> LogFormat:
    """The root logger's one handler (stderr) for this process: ``component`` (server, agent,
    sim, demo) is a field of every JSON line. Returns the format chosen."""
    chosen = fmt or log_format()
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter(station_id))
    if chosen == "json":
        handler.setFormatter(
            SafeJsonFormatter(
                _JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"component": component},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(text_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return chosen
