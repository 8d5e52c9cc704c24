"""The shape checker: how shapes compile and what they accept, and that the committed shapes are
the ones the official SDKs' request types give."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import pytest

from switchgear.apis.shape import Check, ShapeError, _Compiler, load

ROOT = Path(__file__).resolve().parents[3]
SHAPES = ROOT / "src" / "switchgear" / "apis" / "shapes"

DEFS: dict[str, Any] = {
    "Root": {
        "obj": {
            "name": "str",
            "count": {"any_of": ["int", "null"]},
            "ratio": "num",
            "labels": {"obj": {}, "rest": "str"},
            "items": {"list": {"ref": "Item"}},
            "turns": {"list": {"tag": "role", "cases": {"user": {"ref": "Turn"}}, "closed": True}},
            "tree": {"ref": "Tree"},
        },
        "req": ["name"],
    },
    "Item": {"tag": "type", "cases": {"text": {"ref": "Text"}}, "default": {"ref": "Text"}, "closed": False},
    "Text": {"obj": {"type": "str", "text": "str"}, "req": ["text"]},
    "Turn": {"obj": {"role": "str", "content": {"any_of": ["str", {"list": "str"}]}}, "req": ["content"]},
    "Tree": {"obj": {"value": "int", "children": {"list": {"ref": "Tree"}}}},
}


@pytest.fixture(scope="module")
def check() -> Check:
    check = _Compiler(DEFS).ref("Root")[dict]
    assert check is not None
    return check


def problem(check: Check, value: Any) -> tuple[str, str]:
    with pytest.raises(ShapeError) as caught:
        check(value)
    return caught.value.where(), caught.value.problem


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ({}, "name", "is required"),
        ({"name": None}, "name", "is required"),
        ({"name": 1}, "name", "must be a string, got an integer"),
        ({"name": "a", "count": 1.0}, "count", "must be an integer, got a number"),
        ({"name": "a", "count": True}, "count", "must be an integer, got a boolean"),
        ({"name": "a", "ratio": "1"}, "ratio", "must be a number, got a string"),
        ({"name": "a", "labels": {"k": 1}}, "labels.k", "must be a string, got an integer"),
        ({"name": "a", "items": [{"text": "x"}, {"type": "text"}]}, "items[1].text", "is required"),
        ({"name": "a", "items": [{"type": 5, "text": "x"}]}, "items[0].type", "must be a string, got an integer"),
        ({"name": "a", "turns": [{"content": "x"}]}, "turns[0].role", "is required"),
        ({"name": "a", "turns": [{"role": "bot", "content": "x"}]}, "turns[0].role", "must be one of user; got 'bot'"),
        ({"name": "a", "turns": [{"role": "user", "content": [1]}]}, "turns[0].content[0]", "must be a string, got an integer"),
        ({"name": "a", "tree": {"children": [{"children": [{"value": "x"}]}]}}, "tree.children[0].children[0].value", "must be an integer, got a string"),
    ],
)  # fmt: skip
def test_wrong_values_name_their_path(check: Check, body: Any, where: str, message: str) -> None:
    assert problem(check, body) == (where, message)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a"},
        {"name": "a", "count": None, "ratio": 1, "labels": {}, "items": [], "tree": {}},
        {"name": "a", "ratio": 0.5, "unknown": {"anything": [1, None]}},
        {"name": "a", "items": [{"type": "future", "payload": 1}, {"text": "no type: the default"}]},
        {"name": "a", "tree": {"value": 1, "children": [{"value": 2, "children": []}]}},
    ],
)
def test_accepted(check: Check, body: Any) -> None:
    check(body)


MINIMAL = {
    "chat": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    "completions": {"model": "m", "prompt": "hi"},
    "embeddings": {"model": "m", "input": "hi"},
    "messages": {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]},
    "responses": {"model": "m", "input": "hi"},
}


@pytest.mark.parametrize("api", sorted(MINIMAL))
def test_every_api_shape_loads(api: str) -> None:
    check = load(api)
    check(MINIMAL[api])
    with pytest.raises(ShapeError):
        check({**MINIMAL[api], "model": 1})


def test_committed_shapes_are_the_ones_the_installed_sdks_give() -> None:
    for path in SHAPES.glob("*.json"):
        source = orjson.loads(path.read_bytes())["source"]
        sdk, version = source.rsplit("(", 1)[1].rstrip(")").split()
        if metadata.version(sdk) != version:
            pytest.skip(f"shapes were built from {sdk} {version}; {metadata.version(sdk)} is installed")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_shapes.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
