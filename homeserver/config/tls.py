"""TLS certificates: loading them for listeners, and self-signed ones for tests."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from homeserver.config.loader import ConfigError
from homeserver.config.model import TlsConfig
from homeserver.events.ids import InvalidId, split_server_name
from homeserver.util.structure import Problem

if TYPE_CHECKING:
    from twisted.internet import ssl


def _host_of(server_name: str) -> str:
    """The host of a server name, an IPv6 literal without brackets."""
    try:
        return split_server_name(server_name)[0]
    except InvalidId:  # the config validator rejects these; name what we got
        return server_name


def generate_self_signed(cert_path: Path, key_path: Path, server_name: str) -> None:
    """Write a self-signed certificate for ``server_name`` (for test set-ups).

    The certificate names the host both as a DNS name and, when it is an IP
    literal, as an IP address, and is valid for ten years.
    """
    host = _host_of(server_name)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    names: list[x509.GeneralName] = [x509.DNSName(host)]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        pass
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def load_tls_options(config: TlsConfig, data_dir: Path) -> ssl.CertificateOptions:
    """Twisted TLS options for a listener, from the configured PEM files.

    Raises:
        ConfigError: a file is missing or is not a certificate/key pair.
    """
    paths = []
    for key, value in (
        ("certificate_path", config.certificate_path),
        ("private_key_path", config.private_key_path),
    ):
        if not value:
            raise ConfigError([Problem(f"tls.{key}", "is required for TLS listeners")])
        path = Path(value)
        paths.append((key, path if path.is_absolute() else data_dir / path))
    try:
        pem = b"".join(path.read_bytes() for _, path in paths)
    except OSError as exc:
        raise ConfigError([Problem("tls", f"cannot read: {exc}")]) from None
    # Imported here: synctl (init, start, ...) imports this module for
    # generate_self_signed, and twisted's TLS stack is a tenth of its start-up.
    from twisted.internet import ssl

    try:
        return ssl.PrivateCertificate.loadPEM(pem).options()
    except Exception as exc:  # noqa: BLE001 - OpenSSL raises many kinds
        raise ConfigError(
            [Problem("tls", f"not a usable certificate and key: {exc}")]
        ) from None
