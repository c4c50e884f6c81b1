"""A private Mosquitto broker with a config file of our own, on loopback.

Plain (the default): one listener, anonymous clients, no TLS. Secure (``accounts=[...]``):
what deploy/mosquitto.conf runs, on free ports: a TLS station listener (``port``) whose client
id is forced to the username, a TLS internal listener for the server and monitor accounts
(``internal_port``), no anonymous clients, password and ACL files from ``server.broker``.

    accounts = [
        BrokerAccount.with_password("station-01", station_password, Role.STATION),
        BrokerAccount.with_password(DEFAULT_SERVER_USERNAME, server_password, Role.SERVER),
    ]
    with PrivateBroker(accounts=accounts) as broker:
        LinkSettings(port=broker.port, username="station-01", password=station_password,
                     ca_file=str(broker.ca_file))
        broker.update_accounts([*accounts, another])  # rewrite the files, SIGHUP, wait
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from demo.processes import free_port, port_open, spawn, stop
from mqttlink import LinkSettings
from server.broker.accounts import BrokerAccount, check_accounts
from server.broker.files import AccountFiles, reload_broker, write_account_files
from server.broker.tls import TlsFiles, ensure_broker_tls

_RELOAD_LOGGED = b"Reloading config."


class BrokerError(RuntimeError):
    """The broker did not start, or did not reload."""


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise BrokerError("mosquitto is not installed (run ./scripts/setup)")
    return found


class PrivateBroker:
    def __init__(
        self,
        *,
        port: int = 0,
        workdir: Path | None = None,
        extra_conf: str = "",
        accounts: Iterable[BrokerAccount] | None = None,
        internal_port: int = 0,
        tls_hosts: Sequence[str] = (),
    ) -> None:
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="ws-broker-"))
        self._extra_conf = extra_conf
        self._process: subprocess.Popen[bytes] | None = None
        self._accounts = None if accounts is None else check_accounts(accounts)
        self._internal_port = internal_port or (free_port() if self.secure else 0)
        self._tls_hosts = tuple(tls_hosts)

    # -- where things are ------------------------------------------------------------------
    @property
    def secure(self) -> bool:
        return self._accounts is not None

    @property
    def internal_port(self) -> int:
        """The server's and monitor's listener (secure mode only)."""
        self._require_secure()
        return self._internal_port

    @property
    def conf_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    @property
    def pid(self) -> int | None:
        """The running broker's process id (None when stopped)."""
        return self._process.pid if self._process is not None else None

    @property
    def pid_file(self) -> Path:
        """Written by the broker in secure mode (``server.broker.files.reload_broker``)."""
        return self.workdir / "mosquitto.pid"

    @property
    def tls(self) -> TlsFiles:
        self._require_secure()
        return TlsFiles(
            ca_cert=self.workdir / "tls" / "ca.crt",
            broker_cert=self.workdir / "tls" / "broker.crt",
            broker_key=self.workdir / "tls" / "broker.key",
            ca_key=self.workdir / "ca.key",
        )

    @property
    def ca_file(self) -> Path:
        """What clients verify the broker with (``mqttlink.LinkSettings.ca_file``)."""
        return self.tls.ca_cert

    @property
    def account_files(self) -> AccountFiles:
        self._require_secure()
        return AccountFiles.in_directory(self.workdir / "accounts")

    def _require_secure(self) -> None:
        if not self.secure:
            raise BrokerError("only a secure broker (accounts=[...]) has this")

    # -- configuration ---------------------------------------------------------------------
    def config_text(self) -> str:
        if self.secure:
            return self._secure_config_text()
        return "\n".join(
            [
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "set_tcp_nodelay true",  # request/response round trips in ~1 ms, not ~90
                "persistence false",
                # The server's queue is sized for bursts of many stations (see docs/design.md).
                "max_queued_messages 10000",
                "log_dest stdout",
                "log_type error",
                "log_type warning",
                "log_type notice",
                self._extra_conf,
                "",
            ]
        )

    def _secure_config_text(self) -> str:
        tls, files = self.tls, self.account_files
        certs = [f"certfile {tls.broker_cert}", f"keyfile {tls.broker_key}"]
        return "\n".join(
            [
                # Run as root (a container, CI), Mosquitto drops to user "mosquitto" and could
                # then not reread our 0600 files on SIGHUP; as anyone else this does nothing.
                f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                f"pid_file {self.pid_file}",
                "per_listener_settings true",
                "set_tcp_nodelay true",
                "persistence false",
                "max_queued_messages 10000",
                # A log file is flushed line by line (stdout into a file is not): ``reload``
                # waits for "Reloading config.", logged at the "information" level.
                f"log_dest file {self.log_path}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
                "# Stations: the client id is the username, so none can take over another's.",
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous false",
                "use_username_as_clientid true",
                f"password_file {files.station_passwords}",
                f"acl_file {files.station_acl}",
                *certs,
                "# The server (several workers, one username) and the monitor.",
                f"listener {self._internal_port} 127.0.0.1",
                "allow_anonymous false",
                f"password_file {files.internal_passwords}",
                f"acl_file {files.internal_acl}",
                *certs,
                self._extra_conf,
                "",
            ]
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> PrivateBroker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._accounts is not None:
            # Reused across restarts: clients keep trusting the same CA.
            ensure_broker_tls(
                self.workdir / "tls", hosts=self._tls_hosts, ca_key_file=self.tls.ca_key
            )
            if not self.account_files.station_passwords.exists():
                # A restart keeps the files as whoever manages them (the server) left them.
                write_account_files(self.account_files.station_passwords.parent, self._accounts)
            self.pid_file.unlink(missing_ok=True)
        self.conf_path.write_text(self.config_text())
        log = self.log_path.open("ab")
        self._process = spawn([mosquitto_binary(), "-c", str(self.conf_path)], log=log)
        log.close()
        ports = [self.port, self._internal_port] if self.secure else [self.port]
        deadline = time.monotonic() + timeout_s
        while not all(port_open(port) for port in ports):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"mosquitto did not start: {self.log_path.read_text()[-500:]}")
            time.sleep(0.05)
        return self

    def update_accounts(self, accounts: Iterable[BrokerAccount], timeout_s: float = 5.0) -> None:
        """Rewrite the password and ACL files and have the running broker reread them.

        Returns once the broker has taken the new files: clients that connect afterwards
        meet the new accounts; connected clients whose account is gone are disconnected.
        """
        self._require_secure()
        self._accounts = check_accounts(accounts)
        write_account_files(self.account_files.station_passwords.parent, self._accounts)
        if self.running:
            self.reload(timeout_s)

    @property
    def accounts(self) -> list[BrokerAccount]:
        """The accounts this object last wrote (a server managing the files may differ)."""
        self._require_secure()
        assert self._accounts is not None
        return list(self._accounts)

    def reloads(self) -> int:
        """How many times the running broker has reread its files (secure mode)."""
        return self.log_path.read_bytes().count(_RELOAD_LOGGED) if self.log_path.exists() else 0

    def client_settings(
        self, username: str | None = None, password: str | None = None, *, internal: bool = False
    ) -> LinkSettings:
        """How a client reaches this broker: plain, or TLS with an account (the server and the
        monitor on the internal listener, stations on theirs)."""
        if not self.secure:
            return LinkSettings(port=self.port, username=username, password=password)
        port = self._internal_port if internal else self.port
        return LinkSettings(
            port=port, username=username, password=password, ca_file=str(self.ca_file)
        )

    def server_settings(self, server_password: str) -> dict[str, object]:
        """``ServerSettings`` fields for a server using this broker: in secure mode it manages
        the broker's accounts (writes the files, signals the reload), as in production."""
        if not self.secure:
            return {"broker_port": self.port}
        return {
            "broker_port": self._internal_port,
            "broker_password": server_password,
            "broker_ca_file": self.ca_file,
            "station_broker_port": self.port,
            "broker_auth_dir": self.account_files.station_passwords.parent,
            "broker_pid_file": self.pid_file,
        }

    def server_env(self, server_password: str) -> dict[str, str]:
        """The same as ``WS_SERVER_*`` environment variables, for a server process."""
        return {
            f"WS_SERVER_{name.upper()}": str(value)
            for name, value in self.server_settings(server_password).items()
        }

    def reload(self, timeout_s: float = 5.0) -> None:
        """SIGHUP, then wait until the broker says it is rereading its files (secure mode).

        Mosquitto logs that line and then reloads in the same turn of its loop, before it
        reads any further packet, so a CONNECT sent after it meets the new files."""
        self._require_secure()
        before = self.log_path.read_bytes().count(_RELOAD_LOGGED)
        if not reload_broker(self.pid_file):
            raise BrokerError("could not signal the broker to reload")
        deadline = time.monotonic() + timeout_s
        while self.log_path.read_bytes().count(_RELOAD_LOGGED) <= before:
            if time.monotonic() > deadline:
                raise BrokerError("the broker did not reload")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the process; the working directory stays for a restart (see ``close``)."""
        if self._process is not None:
            stop(self._process, 5.0)
            self._process = None

    def close(self) -> None:
        """Stop, and remove the working directory if it is our own temporary one."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
