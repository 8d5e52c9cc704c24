"""Real networks end to end: the official openai SDK -> the gateway -> a forward proxy and/or a TLS
server with its own CA (requiring client certificates) -> the simulated provider. All on loopback,
started here; the gateway's proxy settings come from the environment it is given."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY
from tests.fakes.gateway import GatewayThread, closed_port
from tests.fakes.loop import LoopThread
from tests.fakes.proxy import ForwardProxy
from tests.fakes.tls import TestCA, TlsFront

SECRET = "pr0xy-s3cret"
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
TIMEOUTS = {"connect": "2s", "first_byte": "3s", "chunk_gap": "1s", "total": "20s"}


@pytest.fixture(scope="module")
def servers() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.stop()


@pytest.fixture()
def proxy(servers: LoopThread) -> Iterator[ForwardProxy]:
    found = servers.run(ForwardProxy(auth=f"user:{SECRET}").start())
    yield found
    servers.run(found.stop())


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("net-ca"))


@pytest.fixture(scope="module")
def front(ca: TestCA, sim: SimulatorThread) -> Iterator[TlsFront]:
    """The simulated provider over https://localhost, requiring a client certificate from ``ca``."""
    cert, key = ca.issue("provider", hosts=("localhost",))
    found = TlsFront(cert, key, ("127.0.0.1", sim.port), client_ca=ca.cert_file).start()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def client_cert(ca: TestCA) -> dict[str, str]:
    cert, key = ca.issue("gateway", client=True)
    return {"cert_file": str(cert), "key_file": str(key)}


def provider(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "openai", "base_url": base_url, "api_key": UPSTREAM_KEY, **extra}


def gateway(providers: dict[str, Any], environ: dict[str, str] | None = None) -> GatewayThread:
    config = {"upstream": {"timeouts": TIMEOUTS}, "providers": providers}
    return GatewayThread(config, environ).start()


def ask(gw: GatewayThread, model: str, *, stream: bool = False) -> str:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="sk-client", max_retries=0, timeout=15) as client:
        if stream:
            chunks = client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        answer = client.chat.completions.create(model=model, messages=MESSAGES)
        return answer.choices[0].message.content or ""


def refused(gw: GatewayThread, model: str) -> str:
    with pytest.raises(openai.APIStatusError) as caught:
        ask(gw, model)
    return f"{caught.value.message} {caught.value.body}"


def test_https_provider_through_the_environments_proxy_with_credentials(
    proxy: ForwardProxy, front: TlsFront, ca: TestCA, client_cert: dict[str, str], sim: SimulatorThread
) -> None:
    tls = {"ca_file": str(ca.cert_file), **client_cert}
    environ = {"HTTPS_PROXY": proxy.url(f"user:{SECRET}")}
    gw = gateway({"corp": provider(f"https://localhost:{front.port}/v1", tls=tls)}, environ)
    try:
        sim.clear()
        assert ask(gw, "corp/sim-small").startswith("Hello!")
        assert ask(gw, "corp/sim-small", stream=True).startswith("Hello!")
        auth = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()
        assert [(s.method, s.target, s.authorization) for s in proxy.seen] == [
            ("CONNECT", f"localhost:{front.port}", auth)  # one tunnel, kept alive for both requests
        ]
        assert [r.headers["authorization"] for r in sim.requests] == [f"Bearer {UPSTREAM_KEY}"] * 2
        assert all("proxy-authorization" not in r.headers for r in sim.requests)
        assert "gateway" in front.peers  # the client certificate was presented inside the tunnel
    finally:
        gw.stop()


def test_http_providers_through_the_proxy_in_absolute_form_unless_no_proxy_says_otherwise(
    proxy: ForwardProxy, sim: SimulatorThread
) -> None:
    environ = {"http_proxy": proxy.url(f"user:{SECRET}"), "NO_PROXY": "127.0.0.1"}
    gw = gateway(
        {
            "named": provider(f"http://localhost:{sim.port}/v1"),
            "literal": provider(f"http://127.0.0.1:{sim.port}/v1"),  # in NO_PROXY
        },
        environ,
    )
    try:
        sim.clear()
        assert ask(gw, "named/sim-small").startswith("Hello!")
        assert ask(gw, "literal/sim-small").startswith("Hello!")
        assert [(s.method, s.target) for s in proxy.seen] == [
            ("POST", f"http://localhost:{sim.port}/v1/chat/completions")
        ]
        assert all("proxy-authorization" not in r.headers for r in sim.requests)
        assert len(sim.requests) == 2
    finally:
        gw.stop()


def test_a_providers_proxy_setting_overrides_the_environment_and_credentials_stay_masked(
    proxy: ForwardProxy, sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    dead = closed_port()
    environ = {"HTTP_PROXY": f"http://user:{SECRET}@127.0.0.1:{dead}"}
    sim_url = f"http://localhost:{sim.port}/v1"
    with caplog.at_level(logging.INFO):
        gw = gateway(
            {
                "env": provider(sim_url),
                "own": provider(sim_url, proxy=proxy.url(f"user:{SECRET}")),
                "direct": provider(sim_url, proxy=False),
            },
            environ,
        )
        try:
            assert ask(gw, "own/sim-small").startswith("Hello!")
            assert ask(gw, "direct/sim-small").startswith("Hello!")
            assert [s.target for s in proxy.seen] == [f"{sim_url}/chat/completions"]
            message = refused(gw, "env/sim-small")  # the environment's proxy is down
            assert f"through proxy http://***@127.0.0.1:{dead}" in message, message
            assert SECRET not in message
        finally:
            gw.stop()
    assert f"provider 'own': through proxy http://***@127.0.0.1:{proxy.port}" in caplog.text
    assert SECRET not in caplog.text


def test_tls_with_the_providers_own_ca_and_client_certificate(
    front: TlsFront, ca: TestCA, client_cert: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"https://localhost:{front.port}/v1"
    with caplog.at_level(logging.WARNING):
        gw = gateway(
            {
                "mtls": provider(url, tls={"ca_file": str(ca.cert_file), **client_cert}),
                "no-cert": provider(url, tls={"ca_file": str(ca.cert_file)}),
                "unknown-ca": provider(url, tls=client_cert),
                "lab": provider(url, tls={"verify": False, **client_cert}),
            },
        )
        try:
            assert ask(gw, "mtls/sim-small").startswith("Hello!")
            assert ask(gw, "mtls/sim-small", stream=True).startswith("Hello!")
            assert ask(gw, "lab/sim-small").startswith("Hello!")
            message = refused(gw, "no-cert/sim-small")
            assert "the server wants a client certificate (tls.cert_file / tls.key_file)" in message, message
            message = refused(gw, "unknown-ca/sim-small")
            assert "TLS certificate verification failed" in message and "tls.ca_file" in message, message
        finally:
            gw.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("provider 'lab': TLS certificates are NOT verified" in w for w in warnings), warnings
    assert not any("'mtls'" in w for w in warnings)


def test_a_ca_bundle_from_ssl_cert_file_is_trusted_by_every_provider(
    front: TlsFront, ca: TestCA, client_cert: dict[str, str]
) -> None:
    gw = gateway(
        {"p": provider(f"https://localhost:{front.port}/v1", tls=client_cert)},
        {"SSL_CERT_FILE": str(ca.cert_file)},
    )
    try:
        assert ask(gw, "p/sim-small").startswith("Hello!")
    finally:
        gw.stop()


@pytest.mark.parametrize(
    "model",
    [
        "sim/sim-small;drip_after=2;gap_ms=100",  # OpenAI SSE, passed through
        "s-anthropic/claude-sim;drip_after=2;gap_ms=100",  # Anthropic SSE, translated
        "s-bedrock/anthropic.claude-sim-v1:0;drip_after=2;gap_ms=100",  # AWS event stream
    ],
)
def test_a_stream_that_drips_is_cut_at_chunk_gap_with_an_in_band_error(
    client: openai.OpenAI, model: str
) -> None:
    received = []
    started = time.monotonic()
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(model=model, messages=MESSAGES, stream=True):
            received.append(chunk)
    elapsed = time.monotonic() - started
    assert received  # the events before the drip reached the client
    text = f"{caught.value.message} {caught.value.body}"
    assert "completed no stream event" in text, text
    assert elapsed < 5, elapsed  # chunk_gap is 1 s; the total deadline (20 s) was not what ended it


def test_config_check_reports_unreadable_tls_files(tmp_path: Path) -> None:
    from switchgear.config import ConfigError, parse_settings
    from switchgear.engine.build import build_router

    missing = str(tmp_path / "nope.pem")
    settings = parse_settings({"providers": {"p": provider("https://x/v1", tls={"ca_file": missing})}}, {})
    with pytest.raises(ConfigError, match=r"providers\.p\.tls: cannot read ca_file"):
        build_router(settings)
