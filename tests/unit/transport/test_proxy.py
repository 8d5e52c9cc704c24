"""Outbound proxies: a real forward proxy on loopback between ``HttpClient`` and real origins."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from switchgear.config import ConfigError, parse_settings
from switchgear.config.model import Timeouts, TlsSettings, UpstreamSettings
from switchgear.core.errors import UpstreamUnreachable
from switchgear.transport.client import HttpClient, HttpRequest
from switchgear.transport.network import Networks, NoProxy
from tests.fakes.gateway import closed_port
from tests.fakes.origin import ANSWER, Origin
from tests.fakes.proxy import ForwardProxy
from tests.fakes.tls import TestCA, TlsFront

FAST = Timeouts(connect=2.0, first_byte=2.0, chunk_gap=2.0, total=5.0)
SECRET = "s3cr3t-proxy-pass"


def post(url: str) -> HttpRequest:
    return HttpRequest("POST", url, {"Authorization": "Bearer sk-origin"}, b'{"x":1}')


async def ask(client: HttpClient, url: str, provider: str = "p") -> bytes:
    response = await client.send(post(url), FAST, provider)
    assert response.status == 200
    return await response.read()


@pytest_asyncio.fixture()
async def origin() -> AsyncIterator[Origin]:
    server = await Origin().start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest_asyncio.fixture()
async def tls_origin(origin: Origin, ca: TestCA) -> AsyncIterator[TlsFront]:
    cert, key = ca.issue("origin", hosts=("localhost", "127.0.0.1"))
    front = TlsFront(cert, key, ("127.0.0.1", origin.port)).start()
    yield front
    front.stop()


async def started(settings: UpstreamSettings, networks: dict[str, object] | None = None) -> HttpClient:
    client = HttpClient(settings, networks)  # type: ignore[arg-type]
    await client.start()
    return client


@pytest.mark.parametrize(
    ("spec", "host", "port", "bypass"),
    [
        ("localhost", "localhost", 80, True),
        ("example.com", "api.example.com", 443, True),
        (".example.com", "example.com", 443, True),
        ("*.example.com", "api.example.com", 443, True),
        ("example.com", "badexample.com", 443, False),
        ("example.com:8443", "api.example.com", 443, False),
        ("example.com:8443", "api.example.com", 8443, True),
        ("10.0.0.0/8", "10.1.2.3", 80, True),
        ("10.0.0.0/8", "11.1.2.3", 80, False),
        ("127.0.0.1", "127.0.0.1", 9000, True),
        ("[::1]:9000", "::1", 9000, True),
        ("::1", "::1", 1, True),
        ("*", "anything.at.all", 1, True),
        (" a.com , B.COM ", "x.b.com", 1, True),
        ("", "example.com", 443, False),
    ],
)
def test_no_proxy_matches_like_the_usual_clients(spec: str, host: str, port: int, bypass: bool) -> None:
    assert NoProxy(spec).matches(host, port) is bypass


def test_proxy_and_ca_settings_default_to_the_environment(tmp_path: Path) -> None:
    env = {
        "HTTPS_PROXY": "http://upper:3128",
        "https_proxy": "http://lower:3128",
        "HTTP_PROXY": "proxy.internal:8080",
        "NO_PROXY": "localhost,.internal",
        "SSL_CERT_FILE": str(tmp_path / "ca.pem"),
    }
    upstream = parse_settings({}, env).upstream
    assert upstream.https_proxy is not None and upstream.https_proxy.get_secret_value() == "http://lower:3128"
    assert upstream.http_proxy is not None
    assert upstream.http_proxy.get_secret_value() == "http://proxy.internal:8080"  # scheme-less: http
    assert upstream.no_proxy == "localhost,.internal"
    assert upstream.ca_file == str(tmp_path / "ca.pem")
    # The file wins over the environment; "none" ignores a variable.
    upstream = parse_settings({"upstream": {"https_proxy": "none", "no_proxy": "x"}}, env).upstream
    assert upstream.https_proxy is not None and upstream.https_proxy.get_secret_value() == "none"
    assert upstream.no_proxy == "x"
    with pytest.raises(ConfigError, match=r"environment variable HTTPS_PROXY: socks5:// proxies are not"):
        parse_settings({}, {"HTTPS_PROXY": f"socks5://u:{SECRET}@h:1080"})
    with pytest.raises(ConfigError) as refused:
        parse_settings({"providers": {"p": {"type": "openai", "proxy": f"ftp://u:{SECRET}@h"}}}, {})
    assert "providers.p.proxy" in str(refused.value) and SECRET not in str(refused.value)
    assert SECRET not in repr(parse_settings({"upstream": {"https_proxy": f"http://u:{SECRET}@h"}}, {}))


async def test_http_upstream_goes_through_the_proxy_in_absolute_form(origin: Origin) -> None:
    proxy = await ForwardProxy(auth=f"user:{SECRET}").start()
    client = await started(UpstreamSettings(http_proxy=proxy.url(f"user:{SECRET}")))  # type: ignore[arg-type]
    try:
        url = origin.url(path="/v1/chat?x=1")
        assert await ask(client, url) == ANSWER
        assert await ask(client, url) == ANSWER
        expected = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()
        assert [(s.method, s.target, s.authorization) for s in proxy.seen] == [
            ("POST", url, expected),
            ("POST", url, expected),
        ]
        assert proxy.connections == 1  # kept alive through the proxy
        assert len(origin.heads) == 2
        assert origin.heads[0].startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\n")
        assert b"proxy-authorization" not in origin.heads[0].lower()  # only for the proxy
        assert b"Bearer sk-origin" in origin.heads[0]
    finally:
        await client.close()
        await proxy.stop()


async def test_https_upstream_goes_through_a_tunnel_that_is_reused(
    origin: Origin, tls_origin: TlsFront, ca: TestCA
) -> None:
    proxy = await ForwardProxy(auth=f"user:{SECRET}").start()
    settings = UpstreamSettings(https_proxy=proxy.url(f"user:{SECRET}"), ca_file=str(ca.cert_file))  # type: ignore[arg-type]
    client = await started(settings)
    try:
        url = f"https://localhost:{tls_origin.port}/v1/chat"
        for _ in range(3):
            assert await ask(client, url) == ANSWER
        assert [(s.method, s.target) for s in proxy.seen] == [("CONNECT", f"localhost:{tls_origin.port}")]
        assert proxy.seen[0].forwarded == b""  # the proxy never saw the request itself
        assert tls_origin.handshakes == 1 and len(origin.heads) == 3
        assert b"Bearer sk-origin" in origin.heads[0]
    finally:
        await client.close()
        await proxy.stop()


async def test_an_https_proxy_carries_tls_inside_tls(
    origin: Origin, tls_origin: TlsFront, ca: TestCA
) -> None:
    cert, key = ca.issue("proxy", hosts=("127.0.0.1",))
    proxy_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    proxy_tls.load_cert_chain(cert, key)
    proxy = await ForwardProxy(tls=proxy_tls).start()
    settings = UpstreamSettings(https_proxy=proxy.url(), ca_file=str(ca.cert_file))  # type: ignore[arg-type]
    client = await started(settings)
    try:
        assert await ask(client, f"https://localhost:{tls_origin.port}/v1/chat") == ANSWER
        assert [s.method for s in proxy.seen] == ["CONNECT"]
    finally:
        await client.close()
        await proxy.stop()


async def test_no_proxy_and_the_provider_setting_override_the_environment(origin: Origin) -> None:
    live = await ForwardProxy().start()
    dead = f"http://user:{SECRET}@127.0.0.1:{closed_port()}"
    upstream = parse_settings({}, {"HTTP_PROXY": dead, "NO_PROXY": "127.0.0.1"}).upstream
    networks = Networks(upstream)
    from pydantic import SecretStr

    client = await started(
        upstream,
        {
            "env": networks.default,
            "direct": networks.network(SecretStr("none"), None),
            "own": networks.network(SecretStr(live.url()), None),
        },
    )
    try:
        assert await ask(client, origin.url(), "env") == ANSWER  # 127.0.0.1 is in NO_PROXY
        assert await ask(client, origin.url("localhost"), "direct") == ANSWER  # proxy: none
        assert live.seen == []
        assert await ask(client, origin.url("localhost"), "own") == ANSWER  # its own proxy
        assert [s.target for s in live.seen] == [origin.url("localhost")]
        with pytest.raises(UpstreamUnreachable) as failed:  # the environment's (dead) proxy
            await ask(client, origin.url("localhost"), "env")
        message = str(failed.value)
        assert f"through proxy http://***@127.0.0.1:{dead.rsplit(':', 1)[1]}" in message
        assert SECRET not in message and "user" not in message
    finally:
        await client.close()
        await live.stop()


async def test_a_proxy_refusing_credentials_is_an_error_without_them(
    origin: Origin, tls_origin: TlsFront
) -> None:
    proxy = await ForwardProxy(auth="user:right").start()
    wrong = proxy.url(f"user:{SECRET}")
    client = await started(UpstreamSettings(https_proxy=wrong, http_proxy=wrong))  # type: ignore[arg-type]
    try:
        for url in (f"https://localhost:{tls_origin.port}/v1/chat", origin.url()):
            with pytest.raises(UpstreamUnreachable) as failed:
                await ask(client, url)
            message = str(failed.value)
            assert "407 Proxy Authentication Required" in message, message
            assert f"http://***@127.0.0.1:{proxy.port}" in message and SECRET not in message
        assert [s.method for s in proxy.seen] == ["CONNECT", "POST"]
    finally:
        await client.close()
        await proxy.stop()


async def test_start_up_log_names_the_proxy_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    upstream = UpstreamSettings(https_proxy=f"http://user:{SECRET}@proxy.internal:3128")  # type: ignore[arg-type]
    networks = Networks(upstream)
    lab = networks.network(None, TlsSettings(verify=False))
    with caplog.at_level("INFO", logger="switchgear.transport"):
        client = await started(upstream, {"corp": networks.default, "lab": lab})
        await client.close()
    text = caplog.text
    assert "provider 'corp': https through proxy http://***@proxy.internal:3128" in text
    assert "provider 'lab': TLS certificates are NOT verified" in text
    assert SECRET not in text


def test_uvloop_opens_a_tunnel_too(tmp_path: Path) -> None:
    uvloop = pytest.importorskip("uvloop")
    ca = TestCA(tmp_path)
    cert, key = ca.issue("origin", hosts=("localhost",))

    async def main() -> None:
        origin = await Origin().start()
        front = TlsFront(cert, key, ("127.0.0.1", origin.port)).start()
        proxy = await ForwardProxy().start()
        client = await started(UpstreamSettings(https_proxy=proxy.url(), ca_file=str(ca.cert_file)))  # type: ignore[arg-type]
        try:
            assert await ask(client, f"https://localhost:{front.port}/v1/chat") == ANSWER
            assert [s.method for s in proxy.seen] == ["CONNECT"]
        finally:
            await client.close()
            front.stop()
            await proxy.stop()
            await origin.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
