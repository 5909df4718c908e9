"""HTTPS for a kiosk served beyond loopback: a self-signed certificate made once in the state directory.

A branch that has its own certificate names it in the runtime settings
(``[web] tls_cert``/``tls_key``); otherwise the first start writes an EC
P-256 key (mode 0600) and a certificate for the kiosk's names and addresses
into ``<state>/tls/``, and later starts reuse them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
VALID_DAYS = 825


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write through a temporary file in the same folder, fsync, then replace (atomic)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_self_signed(directory: Path, names: Iterable[str], *, now: dt.datetime | None = None) -> tuple[Path, Path]:
    """The certificate and key in ``directory``, made when missing.

    Args:
        directory: Where they live (``<state>/tls``).
        names: Host names and addresses the certificate is for (subject alternative names).
        now: Start of validity (tests).

    Returns:
        The certificate and key paths.
    """
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in dict.fromkeys(n.strip("[]") for n in names if n):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bank kiosk (self-signed)")])
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path
