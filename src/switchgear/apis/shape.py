"""Checking a parsed request body against the shape of its API, at every depth.

The shapes (``apis/shapes/<api>.json``) are built from the official SDKs' request types by
``tools/build_shapes.py``; each is compiled once, at import, into nested checker functions. A
checker walks only what the body holds: each present field is looked up in its object's table
and checked by type (``type(v) is str``: JSON never gives subclasses, and a boolean is never an
integer), so a typical chat request costs a few microseconds. A wrong type raises ``ShapeError``
with the path to the value (``messages[0].content[1].text``); the path is built only then, as
the error unwinds.

What a shape accepts (see the tool's docstring for how it is built): unknown fields and unknown
``type`` tags pass unchecked (they are the provider's to judge), a ``role`` must be one the API
defines, null is accepted for every optional field (it means "not set"), and values of literals
and enums are left to the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson

Check = Callable[[Any], None]

_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
          dict: "an object", type(None): "null"}  # fmt: skip
_EXPECTED = {"str": "a string", "int": "an integer", "num": "a number", "bool": "a boolean", "null": "null"}
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "num": (int, float), "bool": (bool,), "null": (type(None),)
}  # fmt: skip


class ShapeError(Exception):
    """A value of the wrong type; ``path`` is filled in (innermost first) as the error unwinds."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str | int] = []

    def where(self) -> str:
        """The path to the value, as ``messages[0].content[1].text``."""
        out = ""
        for step in reversed(self.path):
            out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
        return out


def kind(value: Any) -> str:
    """What a JSON value is, in words ("a string", "an array", ...)."""
    return _KINDS.get(type(value), "an object")


def _wrong(expected: str, value: Any) -> ShapeError:
    return ShapeError(f"must be {expected}, got {kind(value)}")


def _leaf(name: str) -> Check:
    expected = _EXPECTED[name]
    if name == "num":

        def number(v: Any) -> None:
            t = type(v)
            if t is not float and t is not int:
                raise _wrong(expected, v)

        return number
    want = _TYPES[name][0]

    def leaf(v: Any) -> None:
        if type(v) is not want:
            raise _wrong(expected, v)

    return leaf


def _any(v: Any) -> None:
    return None


def _list(item: Check | None) -> Check:
    def array(v: Any) -> None:
        if type(v) is not list:
            raise _wrong("an array", v)
        if item is None:
            return
        i = 0
        try:
            for i, x in enumerate(v):  # noqa: B007 (i names the item that failed)
                item(x)
        except ShapeError as exc:
            exc.path.append(i)
            raise

    return array


def _object(fields: dict[str, Check | None], required: tuple[str, ...], rest: Check | None) -> Check:
    def obj(v: Any) -> None:
        if type(v) is not dict:
            raise _wrong("an object", v)
        key = ""
        try:
            for key, value in v.items():
                if value is not None:
                    check = fields.get(key, rest)
                    if check is not None:
                        check(value)
        except ShapeError as exc:
            exc.path.append(key)
            raise
        for key in required:
            if v.get(key) is None:
                missing = ShapeError("is required")
                missing.path.append(key)
                raise missing

    return obj


def _tagged(field: str, cases: dict[str, Check], default: Check | None, closed: bool) -> Check:
    known = ", ".join(sorted(cases))

    def tagged(v: Any) -> None:
        if type(v) is not dict:
            raise _wrong("an object", v)
        tag = v.get(field)
        if tag is None:
            if default is None:
                missing = ShapeError("is required")
                missing.path.append(field)
                raise missing
            default(v)
            return
        if type(tag) is not str:
            wrong = _wrong("a string", tag)
            wrong.path.append(field)
            raise wrong
        check = cases.get(tag)
        if check is not None:
            check(v)
        elif closed:
            unknown = ShapeError(f"must be one of {known}; got {tag!r}")
            unknown.path.append(field)
            raise unknown

    return tagged


def _any_of(by_type: dict[type, Check | None], expected: str) -> Check:
    def any_of(v: Any) -> None:
        try:
            check = by_type[type(v)]
        except KeyError:
            raise _wrong(expected, v) from None
        if check is not None:
            check(v)

    return any_of


class _Compiler:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.done: dict[str, Check] = {}

    def node(self, node: Any) -> Check | None:
        """The checker of a node; None for "anything"."""
        if isinstance(node, str):
            return None if node == "any" else _leaf(node)
        if "ref" in node:
            return self.ref(node["ref"])
        if "list" in node:
            return _list(self.node(node["list"]))
        if "tag" in node:
            cases = {value: self.node(case) or _any for value, case in node["cases"].items()}
            default = self.node(node["default"]) or _any if "default" in node else None
            return _tagged(node["tag"], cases, default, node["closed"])
        if "any_of" in node:
            by_type: dict[type, Check | None] = {}
            for option in node["any_of"]:
                if isinstance(option, str):
                    by_type.update(dict.fromkeys(_TYPES[option]))
                else:
                    by_type[list if "list" in option else dict] = self.node(option)
            return _any_of(by_type, " or ".join(_expected(o) for o in node["any_of"]))
        fields = {key: self.node(_not_null(value)) for key, value in node["obj"].items()}
        rest = self.node(node["rest"]) if "rest" in node else None
        return _object(fields, tuple(node.get("req", ())), rest)

    def ref(self, name: str) -> Check:
        found = self.done.get(name)
        if found is not None:
            return found
        cell: list[Check] = []

        def later(v: Any) -> None:  # a reference back into a shape still being compiled
            cell[0](v)

        self.done[name] = later
        compiled = self.node(self.defs[name]) or _any
        cell.append(compiled)
        self.done[name] = compiled
        return compiled


def _expected(node: Any) -> str:
    if isinstance(node, str):
        return _EXPECTED[node]
    return "an array" if "list" in node else "an object"


def _not_null(node: Any) -> Any:
    """A field's node without its null option: an object's checker skips null fields (not set)."""
    if not isinstance(node, dict) or "null" not in node.get("any_of", ()):
        return node
    options = [o for o in node["any_of"] if o != "null"]
    return options[0] if len(options) == 1 else {"any_of": options}


def load(api: str) -> Check:
    """The compiled checker of a client API's request body (``chat``, ``messages``, ...)."""
    data = orjson.loads(resources.files("switchgear.apis").joinpath(f"shapes/{api}.json").read_bytes())
    return _Compiler(data["defs"]).ref(data["root"])
