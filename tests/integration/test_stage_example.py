"""The worked example of docs/development.md, loaded from the configuration as a user would."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from switchgear.config import ConfigError
from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stages"


@pytest.fixture()
def on_path() -> Iterator[None]:
    sys.path.insert(0, str(EXAMPLES))
    yield
    sys.path.remove(str(EXAMPLES))


def test_the_request_counter_counts_and_adds_its_header(sim: SimulatorThread, on_path: None) -> None:
    config = {**base_config(sim), "stages": ["request_counter:RequestCounter"]}
    gateway = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0) as client:
            for expected in ("1", "2"):
                raw = client.chat.completions.with_raw_response.create(
                    model="fast", messages=[{"role": "user", "content": "hi"}]
                )
                assert raw.headers["x-request-count"] == expected
        gateway.wait_settled(2)
        counter = next(s for s in gateway.app.runtime.engine.chain.stages if s.name == "request_counter")
        assert counter.admitted["fast"] == 2  # type: ignore[attr-defined]
        deadline = time.monotonic() + 3
        while counter.finished[200] < 2 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        assert counter.finished == {200: 2}  # type: ignore[attr-defined]
    finally:
        gateway.stop()


def test_a_stage_that_cannot_be_loaded_is_a_configuration_error(sim: SimulatorThread) -> None:
    with pytest.raises(ConfigError, match="stages: cannot load 'no_such_module:Stage'"):
        GatewayThread({**base_config(sim), "stages": ["no_such_module:Stage"]})
