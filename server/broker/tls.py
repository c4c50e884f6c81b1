"""The broker's TLS material: a private CA that clients pin, and a broker certificate it signs.

ECDSA P-256 with SHA-256: accepted by every OpenSSL Mosquitto may be built with and by
Python's ``ssl`` (Ed25519 works with OpenSSL 3 on both ends too, but not with older TLS
stacks a station box may carry). The CA is kept as long as it is valid, since every station
pins it; the broker certificate is issued again when it nears expiry or lacks a requested
host name. Mosquitto rereads its certificate on SIGHUP, so a renewal needs no restart.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from server.broker.files import write_atomic

CA_LIFETIME = timedelta(days=3650)
BROKER_LIFETIME = timedelta(days=397)
RENEW_BEFORE = timedelta(days=30)
BACKDATE = timedelta(minutes=5)  # stations whose clock is a little behind still accept it
DEFAULT_HOSTS = ("localhost", "127.0.0.1")

Name = x509.DNSName | x509.IPAddress


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_cert: Path  # what clients verify the broker with (mqttlink.LinkSettings.ca_file)
    broker_cert: Path
    broker_key: Path  # 0600
    ca_key: Path  # 0600; only whoever issues broker certificates needs it


def ensure_broker_tls(
    directory: Path,
    *,
    hosts: Sequence[str] = (),
    ca_key_file: Path | None = None,
    now: datetime | None = None,
) -> TlsFiles:
    """``ca.crt``, ``broker.crt`` and ``broker.key`` in ``directory``, made or reused.

    The certificate names ``localhost``, ``127.0.0.1`` and ``hosts`` (DNS names or IP
    addresses). ``ca_key_file`` (default ``directory/ca.key``) can sit outside the directory
    the broker reads, so the broker never holds the key that could issue certificates.
    """
    now = now or datetime.now(UTC)
    files = TlsFiles(
        ca_cert=directory / "ca.crt",
        broker_cert=directory / "broker.crt",
        broker_key=directory / "broker.key",
        ca_key=ca_key_file or directory / "ca.key",
    )
    names = subject_names([*DEFAULT_HOSTS, *hosts])
    ca = _load_ca(files, now)
    if ca is None:
        ca = new_ca(now)
        write_atomic(files.ca_key, _private_pem(ca[1]))
        write_atomic(files.ca_cert, ca[0].public_bytes(serialization.Encoding.PEM), mode=0o644)
    elif _broker_cert_fits(files, ca[0], names, now):
        return files
    cert, key = issue_broker_cert(ca[0], ca[1], names, now)
    write_atomic(files.broker_key, _private_pem(key))
    write_atomic(files.broker_cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return files


def subject_names(hosts: Sequence[str]) -> list[Name]:
    """Subject alternative names for host names and IP addresses, without repeats."""
    names: list[Name] = []
    for host in hosts:
        try:
            name: Name = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            name = x509.DNSName(host)
        if name not in names:
            names.append(name)
    return names


def new_ca(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Warm Station broker CA")])
    cert = (
        _builder(subject, subject, key.public_key(), now, CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_broker_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: Sequence[Name],
    now: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Warm Station broker")])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), now, BROKER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    lifetime: timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + lifetime)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# -- reuse --------------------------------------------------------------------------------
def _load_ca(
    files: TlsFiles, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The stored CA if it is whole, its key matches and it is not about to expire."""
    try:
        cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    if not _in_date(cert, now):
        return None
    return cert, key


def _broker_cert_fits(
    files: TlsFiles, ca_cert: x509.Certificate, names: Sequence[Name], now: datetime
) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.broker_cert.read_bytes())
        key = serialization.load_pem_private_key(files.broker_key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return (
        key.public_key() == cert.public_key()
        and _in_date(cert, now)
        and all(name in san for name in names)
    )


def _in_date(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now and now + RENEW_BEFORE < cert.not_valid_after_utc
