"""JSON log lines: context fields where known, none named like a secret; the format chosen by
WS_LOG_FORMAT and nothing else."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from telemetry.logs import (
    ContextFilter,
    SafeJsonFormatter,
    bind,
    configure,
    log_context,
    log_format,
)


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    bind()


def _json_line(record_station: str | None = None, **extra: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter(record_station))
    handler.setFormatter(SafeJsonFormatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("door %s", "forced", extra=extra)
    finally:
        logger.removeHandler(handler)
    line: dict[str, object] = json.loads(stream.getvalue())
    return line


@pytest.fixture(autouse=True)
def no_context() -> Iterator[None]:
    with log_context():
        yield


def test_context_fields_from_the_thread_or_the_process() -> None:
    assert "station_id" not in _json_line()
    assert "request_id" not in _json_line()
    assert _json_line("st-box")["station_id"] == "st-box"
    with log_context(station_id="st-7", request_id="r-1"):
        line = _json_line("st-box")
    assert (line["station_id"], line["request_id"], line["message"]) == (
        "st-7",
        "r-1",
        "door forced",
    )
    assert "request_id" not in _json_line()  # reset on leaving


def test_fields_named_like_secrets_are_dropped() -> None:
    line = _json_line(
        token="WS1:abc", password="p", station_key="k", api_secret="s", cookie="c", count=3
    )
    assert line["count"] == 3
    assert not {"token", "password", "station_key", "api_secret", "cookie"} & set(line)


def test_format_from_the_environment() -> None:
    assert log_format({}) == "text"
    assert log_format({"WS_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ValueError, match="WS_LOG_FORMAT"):
        log_format({"WS_LOG_FORMAT": "xml"})


def test_configure_json_names_the_component(
    root_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert configure(component="agent", station_id="st-1", fmt="json") == "json"
    logging.getLogger("station_agent.x").info("started")
    line = json.loads(capsys.readouterr().err)
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "station_agent.x",
        "message": "started",
        "component": "agent",
        "station_id": "st-1",
    }
