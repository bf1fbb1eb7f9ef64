"""A self-signed TLS certificate for tests on 127.0.0.1 (needs ``cryptography``).

Every distribution's TLS tests need the same kind of certificate; they share
this one writer instead of each building its own. Not public API.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

__all__: list[str] = []


def _write_self_signed(
    folder: Path,
    common_name: str = "localhost",
    cert_name: str = "cert.pem",
    key_name: str = "key.pem",
) -> tuple[str, str]:
    """Write a certificate valid for ``localhost`` and ``127.0.0.1`` and its key.

    The certificate is its own CA (so it can serve as ``ca_certs``). Returns
    the paths ``(certfile, keyfile)``. Raises ImportError without ``cryptography``.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / cert_name, folder / key_name
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certfile), str(keyfile)
