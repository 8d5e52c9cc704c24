"""TLS to providers: a test CA, a TLS server on loopback that requires client certificates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization

from switchgear.config import ConfigError, parse_settings
from switchgear.config.model import Timeouts, TlsSettings, UpstreamSettings
from switchgear.core.errors import UpstreamUnreachable
from switchgear.providers.registry import build_providers
from switchgear.transport.client import HttpClient, HttpRequest
from switchgear.transport.network import Network, Networks
from tests.fakes.origin import ANSWER, Origin
from tests.fakes.tls import TestCA, TlsFront

FAST = Timeouts(connect=2.0, first_byte=2.0, chunk_gap=2.0, total=5.0)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("tls-ca"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("other-ca"), name="someone else's CA")


@pytest_asyncio.fixture()
async def mtls(ca: TestCA) -> AsyncIterator[tuple[Origin, TlsFront]]:
    origin = await Origin().start()
    cert, key = ca.issue("server", hosts=("localhost", "127.0.0.1"))
    front = TlsFront(cert, key, ("127.0.0.1", origin.port), client_ca=ca.cert_file).start()
    yield origin, front
    front.stop()
    await origin.stop()


async def call(network: Network, url: str) -> bytes:
    client = HttpClient(UpstreamSettings(), {"lab": network})
    await client.start()
    try:
        response = await client.send(HttpRequest("POST", url, {}, b"{}"), FAST, "lab")
        return await response.read()
    finally:
        await client.close()


async def test_mtls_works_with_the_certificate_and_fails_without_it(
    mtls: tuple[Origin, TlsFront], ca: TestCA
) -> None:
    _, front = mtls
    url = f"https://localhost:{front.port}/v1/chat"
    cert, key = ca.issue("gateway", client=True)
    networks = Networks(UpstreamSettings())
    tls = TlsSettings(ca_file=str(ca.cert_file), cert_file=str(cert), key_file=str(key))
    good = networks.network(None, tls)
    assert await call(good, url) == ANSWER
    assert front.peers == ["gateway"]

    no_cert = networks.network(None, TlsSettings(ca_file=str(ca.cert_file)))
    with pytest.raises(UpstreamUnreachable) as failed:
        await call(no_cert, url)
    assert "client certificate" in str(failed.value), failed.value
    assert "tls.cert_file" in str(failed.value)


async def test_an_unknown_ca_is_refused_clearly_and_a_custom_ca_is_trusted(
    mtls: tuple[Origin, TlsFront], ca: TestCA, other_ca: TestCA
) -> None:
    _, front = mtls
    url = f"https://localhost:{front.port}/v1/chat"
    cert, key = ca.issue("gateway", client=True)
    client_cert = {"cert_file": str(cert), "key_file": str(key)}
    networks = Networks(UpstreamSettings())
    for unknown in (
        networks.network(None, TlsSettings(**client_cert)),  # the system's CAs
        networks.network(None, TlsSettings(ca_file=str(other_ca.cert_file), **client_cert)),
    ):
        with pytest.raises(UpstreamUnreachable) as failed:
            await call(unknown, url)
        message = str(failed.value)
        assert f"cannot connect to provider 'lab' (localhost:{front.port})" in message
        assert "TLS certificate verification failed:" in message
        assert "tls.ca_file" in message
    # The gateway-wide CA bundle (SSL_CERT_FILE) is trusted by every provider without a ca_file.
    upstream = parse_settings({}, {"SSL_CERT_FILE": str(ca.cert_file)}).upstream
    assert await call(Networks(upstream).network(None, TlsSettings(**client_cert)), url) == ANSWER


async def test_verify_false_accepts_any_certificate_and_checks_no_name(ca: TestCA, other_ca: TestCA) -> None:
    origin = await Origin().start()
    cert, key = other_ca.issue("elsewhere", hosts=("elsewhere.example",))  # an unknown CA, another name
    front = TlsFront(cert, key, ("127.0.0.1", origin.port)).start()
    try:
        lab = Networks(UpstreamSettings()).network(None, TlsSettings(verify=False))
        assert not lab.verify
        assert await call(lab, f"https://localhost:{front.port}/v1/chat") == ANSWER
        checked = Networks(UpstreamSettings()).network(None, TlsSettings(ca_file=str(other_ca.cert_file)))
        with pytest.raises(UpstreamUnreachable, match="verification failed: Hostname mismatch"):
            await call(checked, f"https://localhost:{front.port}/v1/chat")
    finally:
        front.stop()
        await origin.stop()


def test_tls_problems_are_configuration_errors_naming_the_setting(ca: TestCA, tmp_path: Path) -> None:
    cert, key = ca.issue("gateway", client=True)
    other_cert, other_key = ca.issue("other", client=True)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        serialization.load_pem_private_key(key.read_bytes(), None).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"hunter2-password"),
        )
    )

    def error(tls: dict[str, object], environ: dict[str, str] | None = None) -> str:
        lab = {"type": "openai", "base_url": "https://x/v1", "api_key": "k", "tls": tls}
        conf = {"providers": {"lab": lab}}
        with pytest.raises(ConfigError) as failed:
            build_providers(parse_settings(conf, environ or {}))
        return str(failed.value)

    missing = str(tmp_path / "missing.pem")
    assert f"providers.lab.tls: cannot read ca_file {missing!r}: No such file or directory" in error(
        {"ca_file": missing}
    )
    assert "providers.lab.tls: ca_file" in error({"ca_file": str(key)})  # a key, not certificates
    assert "is not the key of cert_file" in error({"cert_file": str(cert), "key_file": str(other_key)})
    wrong = error({"cert_file": str(other_cert), "key_file": str(encrypted), "key_password": "nope-wrong"})
    assert "key_password is missing or wrong" in wrong and "nope-wrong" not in wrong
    assert "key_password is missing or wrong" in error({"cert_file": str(cert), "key_file": str(encrypted)})
    assert "upstream.ca_file" in error({}, {"SSL_CERT_FILE": missing})
    with pytest.raises(ConfigError, match="key_file and key_password need cert_file"):
        parse_settings({"providers": {"lab": {"type": "openai", "tls": {"key_file": str(key)}}}}, {})
    settings = parse_settings(
        {"providers": {"lab": {"type": "openai", "base_url": "https://x/v1", "api_key": "k", "tls": {
            "cert_file": str(cert), "key_file": str(encrypted), "key_password": "hunter2-password"}}}},
        {},
    )  # fmt: skip
    assert build_providers(settings)["lab"].network is not None


def test_equal_settings_share_one_network_and_context(ca: TestCA) -> None:
    settings = parse_settings(
        {
            "providers": {
                name: {"type": "openai", "base_url": "https://x/v1", "api_key": "k", **extra}
                for name, extra in (
                    ("a", {}),
                    ("b", {}),
                    ("c", {"tls": {"ca_file": str(ca.cert_file)}}),
                    ("d", {"tls": {"ca_file": str(ca.cert_file)}}),
                    ("e", {"proxy": "none"}),
                )
            }
        },
        {},
    )
    providers = build_providers(settings)
    net = {name: provider.network for name, provider in providers.items()}
    assert net["a"] is net["b"] and net["c"] is net["d"] and net["a"] is not net["c"]
    assert net["e"] is not net["a"] and net["e"].tls is net["a"].tls  # type: ignore[union-attr]
