"""The broker's accounts follow the database: after every provisioning (and at start), the
server writes Mosquitto's password and ACL files from the station rows and its own settings,
and signals the broker to reload them (twice: ``reload.py`` says why)."""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, select

from server.broker.accounts import DEFAULT_MONITOR_USERNAME, BrokerAccount, Role, hash_password
from server.broker.files import reload_broker, write_account_files
from server.broker.reload import Reloader
from server.broker.tls import ensure_broker_tls
from server.core.db import session_scope
from server.core.settings import ServerSettings
from server.stations.models import Station

log = logging.getLogger(__name__)


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """One process at a time, across the server's replicas sharing ``lock_file``'s volume
    (``docker compose up --scale server=3`` starts them together)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class BrokerSync:
    def __init__(self, settings: ServerSettings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self._lock = threading.Lock()
        pid_file = settings.broker_pid_file
        self._reloader = (
            Reloader(partial(reload_broker, pid_file), settle_s=settings.broker_reload_settle_s)
            if pid_file is not None
            else None
        )
        # Hashed once per process: the files are rewritten often, the secrets do not change.
        self._own: list[BrokerAccount] = []
        if settings.broker_password is not None:
            password = settings.broker_password.get_secret_value()
            self._own.append(
                BrokerAccount(settings.broker_username, hash_password(password), Role.SERVER)
            )
        if settings.broker_monitor_password is not None:
            password = settings.broker_monitor_password.get_secret_value()
            self._own.append(
                BrokerAccount(DEFAULT_MONITOR_USERNAME, hash_password(password), Role.MONITOR)
            )

    def prepare_tls(self) -> None:
        """Make (or reuse) the broker's CA and certificate where the broker reads them."""
        settings = self._settings
        if not settings.broker_issue_tls:
            return
        if settings.broker_auth_dir is None:
            raise ValueError("WS_SERVER_BROKER_ISSUE_TLS needs WS_SERVER_BROKER_AUTH_DIR")
        # Replicas starting together would each make a CA, and the files could end up from
        # different ones; under the lock the first makes them and the others reuse them.
        with exclusive(settings.data_dir / ".broker-tls.lock"):
            ensure_broker_tls(
                settings.broker_auth_dir,
                hosts=settings.broker_tls_hosts,
                ca_key_file=settings.data_dir / "broker-ca.key",
            )

    @property
    def enabled(self) -> bool:
        return self._settings.broker_auth_dir is not None

    def accounts(self) -> list[BrokerAccount]:
        with session_scope(self._engine) as session:
            rows = session.exec(
                select(Station.id, Station.broker_password_hash)
                .where(col(Station.broker_password_hash).is_not(None))
                .order_by(col(Station.id))
            ).all()
        stations = [BrokerAccount(sid, pw_hash, Role.STATION) for sid, pw_hash in rows if pw_hash]
        return [*self._own, *stations]

    def sync(self) -> None:
        """Write the files and have the broker reload them (no-op when not managed here)."""
        directory = self._settings.broker_auth_dir
        if directory is None:
            return
        with self._lock:
            accounts = self.accounts()
            write_account_files(directory, accounts)
            if self._reloader is not None and not self._reloader.request():
                log.warning(
                    "broker accounts written to %s, but the broker was not signalled", directory
                )

    def stop(self) -> None:
        """No more reload signals (a pending trailing one is dropped)."""
        if self._reloader is not None:
            self._reloader.stop()
