"""Where things are on a station box, and reading them: the settings file (TOML), the state
directory (store, enrolled bundle, broker CA), and one clear line for whatever is wrong.

Settings come from the file, overridden by ``WS_AGENT_*`` environment variables of the same
name; the station's identity (id, broker account, keys) always comes from the enrolled
bundle, never from either.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from protocol.payloads import PayloadError, ProvisioningBundle, parse
from station_agent.config import AgentSettings
from station_agent.enrolment import settings_from_bundle

DEFAULT_CONFIG = Path("/etc/warm-station/agent.toml")
DEFAULT_STATE_DIR = Path("/var/lib/warm-station")
BUNDLE_FILE = "bundle.json"
ENROLLED_FILE = "enrolled-bundles"  # one bundle id a line: each bundle enrols once
_IDENTITY = frozenset(
    {
        "station_id",
        "broker_username",
        "broker_password",
        "broker_ca_file",
        "control_keys",
        "station_key",
    }
)


class CliError(Exception):
    """Something a technician must fix; the message is the one line they see."""


def read_config(path: Path | None) -> dict[str, Any]:
    """The settings file as a dict; no file at the default place is an empty one."""
    if path is None:
        path = Path(os.environ.get("WS_AGENT_CONFIG", DEFAULT_CONFIG))
        if not path.exists():
            return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"cannot read the settings file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"the settings file {path} is not valid TOML: {exc}") from None
    return _flatten(values, path)


def _flatten(values: dict[str, Any], path: Path) -> dict[str, Any]:
    """The agent's settings from the file: its ``[agent]`` table (or top-level keys) and its
    ``[hardware]`` table (pins, camera, screen)."""
    tables = {name for name, value in values.items() if isinstance(value, dict)}
    unknown = tables - {"agent", "hardware"}
    if unknown:
        raise CliError(f"{path}: unknown table [{sorted(unknown)[0]}]: use [agent] or [hardware]")
    flat = {name: value for name, value in values.items() if name not in tables}
    flat |= values.get("agent", {})
    if "hardware" in values:
        flat["hardware"] = values["hardware"]
    named = _IDENTITY & set(flat)
    if named:
        raise CliError(
            f"{path}: {', '.join(sorted(named))} come from the enrolled bundle, not this file"
        )
    return flat


def state_dir(config: dict[str, Any]) -> Path:
    return Path(os.environ.get("WS_AGENT_DATA_DIR", config.get("data_dir", DEFAULT_STATE_DIR)))


def read_bundle(path: Path, *, enrolled: bool = True) -> ProvisioningBundle:
    """The enrolled bundle (``enrolled``), or one a technician names."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not enrolled:
            raise CliError(f"cannot read {path}: no such file") from None
        raise CliError(
            f"this box is not enrolled ({path} is missing): run 'station_agent enrol BUNDLE'"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse(ProvisioningBundle, raw)
    except PayloadError as exc:
        raise CliError(f"{path} is not a station bundle: {exc}") from None


def load_settings(config_path: Path | None, **overrides: Any) -> AgentSettings:
    """The agent's settings: the enrolled bundle's identity, the file's settings, the
    environment over the file."""
    config = read_config(config_path)
    directory = state_dir(config)
    bundle = read_bundle(directory / BUNDLE_FILE)
    from_file = {
        name: value
        for name, value in config.items()
        if name != "data_dir" and f"WS_AGENT_{name.upper()}" not in os.environ
    }
    try:
        return settings_from_bundle(bundle, data_dir=directory, **(from_file | overrides))
    except ValidationError as exc:
        raise CliError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """A settings error in one line: which setting, what is wrong (never its value)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"setting {where}: {first['msg']}{more}"
