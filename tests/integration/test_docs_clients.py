"""The client snippets of docs/clients.md run against a gateway serving examples/demo.yaml.

Every Python snippet whose libraries are installed here (the official ``openai`` and ``anthropic``
SDKs always are) is run as written, with only the gateway's address changed; each prints the
simulated providers' answers. The others (LangChain, LiteLLM, the Agents SDK, Pydantic AI, the
JavaScript SDKs) were run by hand the same way.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "clients.md"
KEY = "sk-docs-master-0123456789"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)


def imported(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.fixture(scope="module")
def demo(sim: SimulatorThread) -> Iterator[GatewayThread]:
    config = yaml.safe_load((ROOT / "examples" / "demo.yaml").read_text())
    gw = GatewayThread(config, {"SIM_URL": sim.base_url, "SWITCHGEAR_MASTER_KEY": KEY}).start()
    yield gw
    gw.stop()


def test_every_snippet_is_python_and_the_readme_links_the_page() -> None:
    assert len(SNIPPETS) >= 6
    for code in SNIPPETS:
        ast.parse(code)
    assert "(docs/clients.md)" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("code", SNIPPETS, ids=lambda code: "+".join(sorted(imported(code) - {"os"})))
def test_a_snippet_runs_as_written(demo: GatewayThread, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [name for name in imported(code) if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"not installed here: {', '.join(missing)}")
    monkeypatch.setenv("SWITCHGEAR_KEY", KEY)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace("http://127.0.0.1:4000", demo.url), str(DOC), "exec"), {})
    assert "Hello! You said: hi" in printed.getvalue()
