"""Checking a parsed request body against the shape of its API, at every depth.

The shapes (``apis/shapes/<api>.json``) are built from the official SDKs' request types by
``tools/build_shapes.py``; each is compiled once, at import, into nested checker functions. A
checker walks only what the body holds: each present field is looked up in its object's table,
and its type in the field's spec (a dict from the exact JSON types it accepts to the check of
their content: JSON never gives subclasses, and a boolean is never an integer), so a typical
chat request costs about a microsecond more than a parse. A wrong type raises ``ShapeError``
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


# What a value may be: each accepted JSON type, with the check of its content (None: none). A
# plain dict, so that ``spec[type(value)]`` is one specialized lookup on the hot path.
Spec = dict[type, "Check | None"]
_ORDER = (str, int, float, bool, list, dict, type(None))


def _describe(spec: Spec) -> str:
    """The types a spec accepts, in words: "a string or an array"."""
    names = [_KINDS[t] for t in _ORDER if t in spec and not (t is int and float in spec)]
    return " or ".join(names)


def _list(item: Spec | None) -> Check:
    def array(v: list[Any]) -> None:
        i = 0
        try:
            for i, x in enumerate(v):  # noqa: B007 (i names the item that failed)
                deeper = item[type(x)]  # type: ignore[index]
                if deeper is not None:
                    deeper(x)
        except KeyError:
            wrong = _wrong(_describe(item), v[i])  # type: ignore[arg-type]
            wrong.path.append(i)
            raise wrong from None
        except ShapeError as exc:
            exc.path.append(i)
            raise

    return array


def _object(fields: dict[str, Spec | None], required: tuple[str, ...], rest: Spec | None) -> Check:
    def obj(v: dict[str, Any]) -> None:
        key = ""
        spec = rest
        try:
            for key, value in v.items():
                if value is not None:
                    spec = fields.get(key, rest)
                    if spec is not None:
                        deeper = spec[type(value)]
                        if deeper is not None:
                            deeper(value)
        except KeyError:
            wrong = _wrong(_describe(spec), v[key])  # type: ignore[arg-type]
            wrong.path.append(key)
            raise wrong from None
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

    def tagged(v: dict[str, Any]) -> None:
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


def _ignore(v: Any) -> None:
    return None


class _Compiler:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.done: dict[str, Spec] = {}

    def node(self, node: Any) -> Spec | None:
        """The spec of a node; None for "anything"."""
        if isinstance(node, str):
            return None if node == "any" else dict.fromkeys(_TYPES[node])
        if "ref" in node:
            return self.ref(node["ref"])
        if "list" in node:
            return {list: _list(self.node(node["list"]))}
        if "tag" in node:
            cases = {value: self.content(case) for value, case in node["cases"].items()}
            default = self.content(node["default"]) if "default" in node else None
            return {dict: _tagged(node["tag"], cases, default, node["closed"])}
        if "any_of" in node:
            accepted: Spec = {}
            for option in node["any_of"]:
                accepted.update(self.node(option) or {})
            return accepted
        fields = {key: self.node(_not_null(value)) for key, value in node["obj"].items()}
        rest = self.node(node["rest"]) if "rest" in node else None
        if not fields and rest is None:  # any object (a JSON schema, tool input): nothing inside to check
            return {dict: None}
        return {dict: _object(fields, tuple(node.get("req", ())), rest)}

    def content(self, node: Any) -> Check:
        """The check of an object's content (a union's case: the tag already says it is an object)."""
        spec = self.node(node)
        return (spec.get(dict) if spec is not None else None) or _ignore

    def ref(self, name: str) -> Spec:
        found = self.done.get(name)
        if found is None:  # registered before its content, which may refer back to it
            found = self.done[name] = {}
            found.update(self.node(self.defs[name]) or {})
        return found


def _not_null(node: Any) -> Any:
    """A field's node without its null option: an object's checker skips null fields (not set)."""
    if not isinstance(node, dict) or "null" not in node.get("any_of", ()):
        return node
    options = [o for o in node["any_of"] if o != "null"]
    return options[0] if len(options) == 1 else {"any_of": options}


def load(api: str) -> Check:
    """The compiled checker of a client API's request body (``chat``, ``messages``, ...): call
    it with a dict (the caller checks that the body is a JSON object)."""
    data = orjson.loads(resources.files("switchgear.apis").joinpath(f"shapes/{api}.json").read_bytes())
    check = _Compiler(data["defs"]).ref(data["root"]).get(dict)
    assert check is not None
    return check
