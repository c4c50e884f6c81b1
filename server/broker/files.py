"""Writing the broker's account files and asking a running Mosquitto to reread them.

Mosquitto rereads password files, ACL files and its certificate on SIGHUP; connected clients
whose account is gone are disconnected, and the new ACLs apply to everyone at once. Each file
is replaced by rename, so the broker never reads half a file.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from server.broker.accounts import (
    INTERNAL_LISTENER_ROLES,
    STATION_LISTENER_ROLES,
    BrokerAccount,
    check_accounts,
    for_listener,
    render_acl_file,
    render_password_file,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccountFiles:
    """Where the broker's account files live; the names are fixed so configs can point at them."""

    station_passwords: Path
    station_acl: Path
    internal_passwords: Path
    internal_acl: Path

    @classmethod
    def in_directory(cls, directory: Path) -> AccountFiles:
        return cls(
            station_passwords=directory / "stations.passwd",
            station_acl=directory / "stations.acl",
            internal_passwords=directory / "internal.passwd",
            internal_acl=directory / "internal.acl",
        )


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` by rename; the file has ``mode`` from its first byte."""
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; this also covers a wider mode for certs
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_account_files(directory: Path, accounts: Iterable[BrokerAccount]) -> AccountFiles:
    """Write both listeners' password and ACL files (0600) into ``directory``.

    Everything is rendered before anything is written, so bad accounts leave the files as
    they were. Reload the broker afterwards (``reload_broker``).
    """
    every = check_accounts(accounts)
    stations = for_listener(every, STATION_LISTENER_ROLES)
    internal = for_listener(every, INTERNAL_LISTENER_ROLES)
    paths = AccountFiles.in_directory(directory)
    contents = {
        paths.station_passwords: render_password_file(stations),
        paths.station_acl: render_acl_file(stations),
        paths.internal_passwords: render_password_file(internal),
        paths.internal_acl: render_acl_file(internal),
    }
    for path, text in contents.items():
        write_atomic(path, text)
    return paths


def reload_broker(pid_file: Path) -> bool:
    """Send SIGHUP to the Mosquitto named by ``pid_file``; False if there is none to signal.

    A stale pid file could name an unrelated process, which SIGHUP would usually end, so the
    process must be a mosquitto (checked through /proc where there is one). The reload itself
    happens asynchronously in the broker's main loop.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        log.warning("no broker to reload: pid file %s missing or unreadable", pid_file)
        return False
    comm = Path(f"/proc/{pid}/comm")
    if Path("/proc/self").exists():
        try:
            name = comm.read_text().strip()
        except OSError:
            name = ""
        if name != "mosquitto":
            log.warning("not reloading pid %s from %s: it is not mosquitto", pid, pid_file)
            return False
    try:
        os.kill(pid, signal.SIGHUP)
    except (ProcessLookupError, PermissionError) as exc:
        log.warning("could not signal broker pid %s: %s", pid, exc)
        return False
    return True
