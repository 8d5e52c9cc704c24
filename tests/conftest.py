"""Shared fixtures: the simulated providers and a gateway wired to them, both on real sockets."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread, closed_port
from tests.fakes.redis_server import RedisServer, find_or_start_redis

pytest_plugins = ["tests.fakes.databases"]  # db: each storage test on SQLite and on PostgreSQL

UPSTREAM_KEY = "sk-upstream-canary-7f3a9c"
_EMPTY_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Keep the cloud SDKs' credential searches on this machine, for this process and every
    subprocess: no instance metadata service, no metadata server but a closed loopback port, no
    credentials of the person running the tests (google-auth reads GCE_METADATA_HOST on import,
    so this runs before any test module is imported). Tests that want a source set it themselves."""
    empty = tempfile.mkdtemp(prefix="switchgear-test-home-")
    config.stash[_EMPTY_HOME] = empty
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_")) and name != "AWS_CA_BUNDLE":
            del os.environ[name]
    os.environ.update(
        {
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.path.join(empty, "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(empty, "aws-credentials"),
            "CLOUDSDK_CONFIG": os.path.join(empty, "gcloud"),
            "GCE_METADATA_HOST": f"127.0.0.1:{closed_port()}",
            "GCE_METADATA_IP": f"127.0.0.1:{closed_port()}",
            "GCE_METADATA_DETECT_RETRIES": "1",
            # a gateway with governance on opens its default SQLite file here, not in the home folder
            "XDG_DATA_HOME": os.path.join(empty, "data"),
        }
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash.get(_EMPTY_HOME, ""), ignore_errors=True)


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorThread]:
    simulator = SimulatorThread()
    simulator.start()
    yield simulator
    simulator.stop()


def base_config(sim: SimulatorThread, **server: Any) -> dict[str, Any]:
    sim_v1 = sim.base_url + "/v1"
    return {
        "server": server,
        "upstream": {"timeouts": {"connect": "2s", "first_byte": "3s", "chunk_gap": "1s", "total": "20s"}},
        "providers": {
            "sim": {"type": "openai", "base_url": sim_v1, "api_key": UPSTREAM_KEY},
            "sim2": {"type": "openai", "base_url": sim_v1, "api_key": UPSTREAM_KEY},
            "down": {"type": "openai", "base_url": f"http://127.0.0.1:{closed_port()}/v1", "api_key": "x"},
            "flaky": {
                "type": "openai",
                "base_url": sim_v1,
                "api_key": UPSTREAM_KEY,
                "headers": {"x-sim-status": "503", "x-sim-retry-after": "1"},
            },
            "local": {"type": "ollama", "base_url": sim_v1},
            "mistral-like": {"type": "mistral", "base_url": sim_v1, "api_key": UPSTREAM_KEY},
            "s-openai": {"type": "openai", "base_url": sim_v1, "api_key": UPSTREAM_KEY},
            "s-anthropic": {"type": "anthropic", "base_url": sim.base_url, "api_key": UPSTREAM_KEY},
            "s-gemini": {"type": "gemini", "base_url": sim.base_url, "api_key": UPSTREAM_KEY},
            "s-cohere": {"type": "cohere", "base_url": sim.base_url, "api_key": UPSTREAM_KEY},
            "s-bedrock": {
                "type": "bedrock",
                "base_url": sim.base_url,
                "region": "us-east-1",
                "aws_access_key_id": "AKIDSIMULATOR",
                "aws_secret_access_key": "sim-secret",
            },
            "azure-like": {
                "type": "azure",
                "base_url": sim.base_url,
                "api_key": UPSTREAM_KEY,
                "api_version": "2024-10-21",
            },
        },
        "models": [
            {"name": "fast", "deployments": [{"provider": "sim", "model": "sim-small"}]},
            {
                "name": "ha",
                "deployments": [
                    {"provider": "down", "model": "sim-small", "weight": 1},
                    {"provider": "flaky", "model": "sim-small", "weight": 0},
                    {"provider": "sim2", "model": "sim-large", "weight": 0},
                ],
            },
            {
                "name": "all-down",
                "deployments": [
                    {"provider": "down", "model": "a"},
                    {"provider": "flaky", "model": "b", "weight": 0},
                ],
            },
            {
                "name": "priced",
                "deployments": [{"provider": "sim", "model": "sim-small"}],
                "pricing": {"input": "0.5", "output": "1.5"},
                "context_window": 32000,
            },
            {"name": "embed", "deployments": [{"provider": "sim", "model": "sim-embed"}]},
        ],
    }


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis: the one running on the machine, else one started for the session."""
    server = find_or_start_redis()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    return redis_server.url


@pytest.fixture(scope="session")
def gateway(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gw = GatewayThread(base_config(sim)).start()
    yield gw
    gw.stop()


@pytest.fixture()
def make_gateway(sim: SimulatorThread) -> Iterator[Callable[..., GatewayThread]]:
    started: list[GatewayThread] = []

    def make(**server: Any) -> GatewayThread:
        gw = GatewayThread(base_config(sim, **server)).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


@pytest.fixture()
def client(gateway: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=gateway.url + "/v1", api_key="sk-client", max_retries=0, timeout=10
    ) as client:
        yield client


@pytest.fixture()
async def aclient(gateway: GatewayThread) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=gateway.url + "/v1", api_key="sk-client", max_retries=0, timeout=10
    ) as client:
        yield client
