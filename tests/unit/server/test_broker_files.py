"""Writing the broker's files, signalling it, and its TLS material (server.broker.files, .tls)."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from server.broker.accounts import AccountError, BrokerAccount, Role, hash_password
from server.broker.files import AccountFiles, reload_broker, write_account_files, write_atomic
from server.broker.tls import BROKER_LIFETIME, ensure_broker_tls

HASH = hash_password("pw", iterations=1)
ACCOUNTS = [
    BrokerAccount("station-01", HASH, Role.STATION),
    BrokerAccount("ws-server", HASH, Role.SERVER),
    BrokerAccount("ws-monitor", HASH, Role.MONITOR),
]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_account_files_are_split_by_listener_and_owner_only(tmp_path: Path) -> None:
    files = write_account_files(tmp_path / "auth", ACCOUNTS)
    assert files == AccountFiles.in_directory(tmp_path / "auth")
    assert files.station_passwords.read_text() == f"station-01:{HASH}\n"
    assert files.internal_passwords.read_text() == f"ws-monitor:{HASH}\nws-server:{HASH}\n"
    assert "pattern" in files.station_acl.read_text()
    assert "user ws-server" in files.internal_acl.read_text()
    for path in (files.station_passwords, files.station_acl, files.internal_acl):
        assert _mode(path) == 0o600
    assert sorted(p.name for p in files.station_acl.parent.iterdir()) == [
        "internal.acl",
        "internal.passwd",
        "stations.acl",
        "stations.passwd",
    ]  # no temporary file left behind


def test_bad_accounts_leave_the_files_as_they_were(tmp_path: Path) -> None:
    files = write_account_files(tmp_path, ACCOUNTS)
    before = files.internal_passwords.read_text()
    with pytest.raises(AccountError):
        write_account_files(tmp_path, [*ACCOUNTS, BrokerAccount("ws-server", HASH, Role.MONITOR)])
    assert files.internal_passwords.read_text() == before


def test_write_atomic_replaces_and_sets_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "cert.pem"
    write_atomic(path, "one", mode=0o644)
    write_atomic(path, b"two", mode=0o644)
    assert path.read_bytes() == b"two"
    assert _mode(path) == 0o644


def test_reload_refuses_a_missing_garbled_or_foreign_pid(tmp_path: Path) -> None:
    pid_file = tmp_path / "mosquitto.pid"
    assert not reload_broker(pid_file)
    pid_file.write_text("not a pid")
    assert not reload_broker(pid_file)
    # A live process that is not mosquitto must not get SIGHUP (it would usually end it).
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            pid_file.write_text(f"{other.pid}\n")
            assert not reload_broker(pid_file)
            assert other.poll() is None
        finally:
            other.kill()


# -- TLS ------------------------------------------------------------------------------------
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_tls_material_names_loopback_and_extra_hosts(tmp_path: Path) -> None:
    files = ensure_broker_tls(tmp_path, hosts=["broker", "10.0.0.5"], now=NOW)
    assert _mode(files.broker_key) == 0o600
    assert _mode(files.ca_key) == 0o600
    cert = _cert(files.broker_cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "broker"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "10.0.0.5",
    ]
    cert.verify_directly_issued_by(_cert(files.ca_cert))
    assert cert.not_valid_after_utc == NOW + BROKER_LIFETIME
    # What a verifying client (mqttlink) and Mosquitto load.
    ssl.create_default_context(cafile=str(files.ca_cert))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(files.broker_cert, files.broker_key)


def test_tls_material_is_reused_while_valid(tmp_path: Path) -> None:
    first = ensure_broker_tls(tmp_path, hosts=["broker"], now=NOW)
    stored = {p: p.read_bytes() for p in (first.ca_cert, first.broker_cert, first.broker_key)}
    again = ensure_broker_tls(tmp_path, hosts=["broker"], now=NOW + timedelta(days=100))
    assert {p: p.read_bytes() for p in stored} == stored
    assert again == first


def test_a_new_host_or_a_near_expiry_reissues_the_broker_cert_under_the_same_ca(
    tmp_path: Path,
) -> None:
    files = ensure_broker_tls(tmp_path, now=NOW)
    ca, cert = files.ca_cert.read_bytes(), files.broker_cert.read_bytes()
    ensure_broker_tls(tmp_path, hosts=["broker"], now=NOW)
    assert files.ca_cert.read_bytes() == ca
    assert files.broker_cert.read_bytes() != cert
    cert = files.broker_cert.read_bytes()
    ensure_broker_tls(tmp_path, hosts=["broker"], now=NOW + BROKER_LIFETIME - timedelta(days=1))
    assert files.ca_cert.read_bytes() == ca
    assert files.broker_cert.read_bytes() != cert


def test_a_ca_whose_key_is_lost_is_replaced(tmp_path: Path) -> None:
    files = ensure_broker_tls(tmp_path, ca_key_file=tmp_path / "private" / "ca.key", now=NOW)
    assert files.ca_key.parent.name == "private"
    ca = files.ca_cert.read_bytes()
    files.ca_key.unlink()
    ensure_broker_tls(tmp_path, ca_key_file=files.ca_key, now=NOW)
    assert files.ca_cert.read_bytes() != ca
    _cert(files.broker_cert).verify_directly_issued_by(_cert(files.ca_cert))


def test_a_foreign_broker_cert_is_replaced(tmp_path: Path) -> None:
    ours = ensure_broker_tls(tmp_path / "ours", now=NOW)
    other = ensure_broker_tls(tmp_path / "other", now=NOW)
    os.replace(other.broker_cert, ours.broker_cert)
    os.replace(other.broker_key, ours.broker_key)
    ensure_broker_tls(tmp_path / "ours", now=NOW)
    _cert(ours.broker_cert).verify_directly_issued_by(_cert(ours.ca_cert))
