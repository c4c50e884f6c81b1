"""A real Mosquitto forgets a SIGHUP that arrives while it is still applying the previous
reload (server/broker/reload.py); the trailing signal gets the change read all the same.

To make the window wide enough to aim at, the connected clients' passwords are hashed with
many iterations: each reload re-checks every connected client, so it lasts most of a second.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.broker import PrivateBroker
from server.broker.accounts import BrokerAccount, Role, hash_password, new_password
from server.broker.files import reload_broker, write_account_files
from server.broker.reload import Reloader
from tests.support.raw_client import RawClient, admits, raw_client
from tests.support.waiting import wait_for

SLOW_CLIENTS = 6
SLOW_ITERATIONS = 150_000  # about 0.1 s per connected client per reload
SLOW_PASSWORD = new_password()
RUN = uuid.uuid4().hex[:6]


def _slow_accounts() -> list[BrokerAccount]:
    shared_hash = hash_password(SLOW_PASSWORD, iterations=SLOW_ITERATIONS)  # hashed once
    return [
        BrokerAccount(f"st-slow{index}-{RUN}", shared_hash, Role.STATION)
        for index in range(SLOW_CLIENTS)
    ]


@pytest.fixture
def busy_broker(tmp_path: Path) -> Iterator[tuple[PrivateBroker, list[BrokerAccount]]]:
    """A broker whose reloads take long: every slow account connected."""
    accounts = _slow_accounts()
    with PrivateBroker(accounts=accounts, workdir=tmp_path / "broker") as broker:
        clients = [_client(broker, account.username, SLOW_PASSWORD) for account in accounts]
        for client in clients:
            assert client.connect(timeout_s=10) == 0
        yield broker, accounts
        for client in clients:
            client.close()


def _client(broker: PrivateBroker, username: str, password: str) -> RawClient:
    return raw_client(broker.client_settings(username, password))


def _admitted(broker: PrivateBroker, username: str, password: str) -> bool:
    return admits(broker.client_settings(username, password), timeout_s=10)


def _add_during_a_reload(
    broker: PrivateBroker, accounts: list[BrokerAccount], signal: object
) -> tuple[str, str]:
    """Start a reload, then, while the broker re-checks its clients, write a new account and
    call ``signal``. The new account's name and password."""
    newcomer, password = f"st-new-{RUN}", new_password()
    before = broker.reloads()
    assert reload_broker(broker.pid_file)
    wait_for(lambda: broker.reloads() > before, timeout_s=5, what="the first reload")
    time.sleep(0.15)  # the files are read at once; the re-checks take most of a second
    write_account_files(
        broker.account_files.station_passwords.parent,
        [*accounts, BrokerAccount.with_password(newcomer, password, Role.STATION)],
    )
    assert callable(signal)
    signal()
    return newcomer, password


def test_mosquitto_forgets_a_sighup_sent_during_a_reload(
    busy_broker: tuple[PrivateBroker, list[BrokerAccount]],
) -> None:
    """The premise: one plain SIGHUP, as the server sent before, leaves the change unread."""
    broker, accounts = busy_broker
    before = broker.reloads()
    newcomer, password = _add_during_a_reload(
        broker, accounts, lambda: reload_broker(broker.pid_file)
    )
    # Answered only once the broker's loop is free again, so after the first reload ended.
    assert not _admitted(broker, newcomer, password)
    time.sleep(0.5)
    assert broker.reloads() == before + 1  # the second signal started no reload
    assert not _admitted(broker, newcomer, password)


def test_the_trailing_signal_gets_a_change_made_during_a_reload_read(
    busy_broker: tuple[PrivateBroker, list[BrokerAccount]],
) -> None:
    broker, accounts = busy_broker
    reloader = Reloader(lambda: reload_broker(broker.pid_file), settle_s=1.5)
    try:
        before = broker.reloads()
        newcomer, password = _add_during_a_reload(broker, accounts, reloader.request)
        wait_for(
            lambda: _admitted(broker, newcomer, password),
            timeout_s=8,
            what="the new account to be admitted",
        )
        assert broker.reloads() == before + 2  # the first, and the trailing one
    finally:
        reloader.stop()
