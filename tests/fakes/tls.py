"""A test certificate authority and a TLS front on loopback that can require client certificates.

``TestCA`` makes a CA and issues server and client certificates (PEM files) with the
``cryptography`` package. ``TlsFront`` terminates TLS with a server certificate, optionally
requires a client certificate signed by a given CA (mTLS), and forwards the plaintext to a target
(for example the simulated providers), so a provider can be reached over https:// by the gateway.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import select
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class TestCA:
    __test__ = False  # not a test class

    def __init__(self, directory: Path, name: str = "switchgear test CA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_file = directory / "ca.pem"
        self.cert_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, hosts: tuple[str, ...] = (), client: bool = False) -> tuple[Path, Path]:
        """A certificate for ``name`` (server: valid for ``hosts``; client: for client auth) and its key."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        cert_file, key_file = self.directory / f"{name}.pem", self.directory / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file


class TlsFront:
    """TLS on loopback in front of ``target`` (host, port); ``client_ca`` makes client certificates
    (signed by that CA) required. ``peers`` lists the common name of each client certificate seen.

    Threads and blocking sockets rather than asyncio, so that a failed handshake ends with the TLS
    alert a real server sends (asyncio's server drops the connection without it)."""

    def __init__(
        self, cert: Path, key: Path, target: tuple[str, int], *, client_ca: Path | None = None
    ) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(client_ca)
        self.target = target
        self.handshakes = 0  # completed ones
        self.failures: list[str] = []  # handshakes that failed, by reason
        self.peers: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tls-front", daemon=True)

    def start(self) -> TlsFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5.0)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10.0)
        tls = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            self.failures.append(str(getattr(exc, "reason", exc)))
            # The alert is sent; read the raw socket until the client goes, as servers that linger
            # on close do (closing with unread bytes would send an RST that may beat the alert).
            with contextlib.suppress(OSError):
                tls.settimeout(2.0)
                while socket.socket.recv(tls, 65536):
                    pass
            tls.close()
            return
        self.handshakes += 1
        peer = tls.getpeercert()
        if peer:
            self.peers.extend(v for rdn in peer["subject"] for k, v in rdn if k == "commonName")
        try:
            upstream = socket.create_connection(self.target, timeout=10.0)
        except OSError:
            tls.close()
            return
        _relay(tls, upstream)


def _relay(tls: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side ends, then close both. One thread: an SSL socket
    must not be read in one thread while another writes to it."""
    other: dict[socket.socket, socket.socket] = {tls: upstream, upstream: tls}
    try:
        while True:
            # Bytes the TLS layer already decrypted are not visible to select().
            ready = [tls] if tls.pending() else select.select([tls, upstream], [], [], 10.0)[0]
            if not ready:
                return
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                other[source].sendall(data)
    except OSError:
        pass
    finally:
        for sock in (tls, upstream):
            with contextlib.suppress(OSError):
                sock.close()
