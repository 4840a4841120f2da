"""A self-signed CA and a serving certificate for 127.0.0.1, made once per state directory.

client-go (kubectl, Helm) sends a kubeconfig's bearer token only over TLS, so the cluster serves
https by default; the CA goes into the kubeconfig as `certificate-authority-data`.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY_DAYS = 365


@dataclass(frozen=True)
class ServingCertificate:
    ca_pem: bytes
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def _covers(cert_path: Path, addresses: Sequence[str]) -> bool:
    """Whether the serving certificate names every one of `addresses` (a pod-facing address may change)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    served = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    return all(address in served for address in addresses)


def ensure(directory: Path, now: datetime.datetime, *, addresses: Sequence[str] = ()) -> ServingCertificate:
    """Reuse the certificates in `directory`, or make a new CA and serving pair there.

    The serving certificate names 127.0.0.1, `localhost`, `kubernetes.default.svc` and `addresses`
    (where pods reach the server): an in-cluster client verifies the address it dials.
    """
    ca_path, cert_path, key_path = directory / "ca.crt", directory / "apiserver.crt", directory / "apiserver.key"
    if ca_path.exists() and cert_path.exists() and key_path.exists() and _covers(cert_path, addresses):
        return ServingCertificate(ca_path.read_bytes(), cert_path, key_path)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    not_after = now + datetime.timedelta(days=VALIDITY_DAYS)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kfval-embedded-ca"))
        .issuer_name(_name("kfval-embedded-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes.default.svc"),
        *(x509.IPAddress(ipaddress.ip_address(address)) for address in addresses if address != "127.0.0.1"),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kfval-apiserver"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_path.write_bytes(ca_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_path, _pem_key(key))
    _write_private(directory / "ca.key", _pem_key(ca_key))
    return ServingCertificate(ca_pem, cert_path, key_path)
