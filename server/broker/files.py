"""Broker files (placeholder until the broker package lands)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from server.broker.accounts import BrokerAccount


def write_auth_files(directory: Path, accounts: Sequence[BrokerAccount]) -> None:
    raise NotImplementedError


def reload_broker(pid_file: Path) -> bool:
    raise NotImplementedError
